//! RAS as an endpoint (H.225.0 §7, UDP): one [`RasEndpoint`] per gatekeeper trunk.
//! Sans-IO: datagrams and time in, datagrams and [`RasOutput`]s out.
//!
//! What it does:
//! - discovery and registration: GRQ unicast to the configured gatekeeper (never the
//!   224.0.1.41 multicast), then RRQ with our aliases, call signalling and RAS addresses;
//!   GCF teaches the gatekeeper identifier and its RAS address, RCF the endpoint
//!   identifier and `timeToLive`; GRJ/RRJ or no answer: retried after [`RETRY_AFTER`];
//! - lightweight re-registration (H.225.0 §7.9.1): an RRQ with `keepAlive` TRUE, our
//!   endpoint and gatekeeper identifiers, before `timeToLive` runs out
//!   ([`refresh_after`]); an RRJ `fullRegistrationRequired` answers with a full RRQ;
//! - admission (§7.10): ARQ for each call ([`RasEndpoint::admit`]); ACF gives the address
//!   to call (`destCallSignalAddress`) and the call model (direct or gatekeeper-routed);
//!   ARJ or no answer fails the call with [`arj_cause`];
//! - disengage (§7.11): DRQ at the end of an admitted call; a gatekeeper's DRQ is
//!   confirmed and reported as [`RasOutput::Disengaged`];
//! - bandwidth (§7.12): BRQ on request; a gatekeeper's BRQ is confirmed;
//! - status (§7.15): IRQ answered with IRR;
//! - unregistration (§7.13): URQ at shutdown ([`RasEndpoint::unregister`]); a gatekeeper's
//!   URQ is confirmed and registration starts again.
//!
//! Every request carries its own `requestSeqNum`; a response is matched to the pending
//! request by it. Requests are sent again on the RAS timers of H.225.0 (recommended
//! default timeouts and retry counts per message, [`RasKind::timing`]); a request in
//! progress (RIP) pushes its deadline out by the delay it names.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use h323_asn1::h225::{
    self, AdmissionRejectReason, AdmissionRequest, AliasAddress, BandWidth, BandwidthConfirm,
    BandwidthRequest, CallModel, CallReferenceValue, CallType, DisengageConfirm, DisengageReason,
    DisengageRequest, EndpointIdentifier, GatekeeperIdentifier, GatekeeperRequest, H221NonStandard,
    InfoRequestResponse, RasMessage, RegistrationRejectReason, RegistrationRequest, RequestSeqNum,
    TimeToLive, UnregistrationConfirm, UnregistrationRequest, VendorIdentifier, bmp_string,
    bmp_to_string, call_identifier, conference_identifier, dialed_digits, h323_id,
    protocol_identifier_v7,
};
use mapping::cause::Q850Cause;
use tracing::{debug, warn};

use super::call_leg::{gateway_endpoint, h225_address, socket_of};

/// After a failed discovery or registration (reject or no answer), the next attempt.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The bandwidth asked for in ARQ, in units of 100 bit/s: one G.711 call, both
/// directions (2 x 64 kbit/s).
pub const G711_CALL_BANDWIDTH: u32 = 1280;

/// How long before `timeToLive` runs out the lightweight RRQ goes: a quarter of it, at
/// least the RRQ's whole retransmission time, so that it can be answered in time.
pub fn refresh_after(ttl: Duration) -> Duration {
    let margin = (ttl / 4).max(RasKind::Rrq.timing().0 * 3);
    ttl.saturating_sub(margin).max(Duration::from_secs(1))
}

/// A RAS request we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RasKind {
    /// GatekeeperRequest.
    Grq,
    /// RegistrationRequest (full or lightweight).
    Rrq,
    /// UnregistrationRequest.
    Urq,
    /// AdmissionRequest.
    Arq,
    /// BandwidthRequest.
    Brq,
    /// DisengageRequest.
    Drq,
}

impl RasKind {
    /// (timeout, retries) of H.225.0's table of recommended default RAS timeouts and
    /// retry counts: GRQ 5 s/2, RRQ 3 s/2, URQ 3 s/1, ARQ 5 s/2, BRQ 3 s/2, DRQ 3 s/2.
    pub fn timing(self) -> (Duration, u8) {
        let s = Duration::from_secs;
        match self {
            RasKind::Grq => (s(5), 2),
            RasKind::Rrq => (s(3), 2),
            RasKind::Urq => (s(3), 1),
            RasKind::Arq => (s(5), 2),
            RasKind::Brq => (s(3), 2),
            RasKind::Drq => (s(3), 2),
        }
    }
}

/// The `type` label of a RAS message (metrics; tshark's names).
pub fn label(m: &RasMessage) -> &'static str {
    match m {
        RasMessage::gatekeeperRequest(_) => "GRQ",
        RasMessage::gatekeeperConfirm(_) => "GCF",
        RasMessage::gatekeeperReject(_) => "GRJ",
        RasMessage::registrationRequest(_) => "RRQ",
        RasMessage::registrationConfirm(_) => "RCF",
        RasMessage::registrationReject(_) => "RRJ",
        RasMessage::unregistrationRequest(_) => "URQ",
        RasMessage::unregistrationConfirm(_) => "UCF",
        RasMessage::unregistrationReject(_) => "URJ",
        RasMessage::admissionRequest(_) => "ARQ",
        RasMessage::admissionConfirm(_) => "ACF",
        RasMessage::admissionReject(_) => "ARJ",
        RasMessage::bandwidthRequest(_) => "BRQ",
        RasMessage::bandwidthConfirm(_) => "BCF",
        RasMessage::bandwidthReject(_) => "BRJ",
        RasMessage::disengageRequest(_) => "DRQ",
        RasMessage::disengageConfirm(_) => "DCF",
        RasMessage::disengageReject(_) => "DRJ",
        RasMessage::locationRequest(_) => "LRQ",
        RasMessage::locationConfirm(_) => "LCF",
        RasMessage::locationReject(_) => "LRJ",
        RasMessage::infoRequest(_) => "IRQ",
        RasMessage::infoRequestResponse(_) => "IRR",
        RasMessage::requestInProgress(_) => "RIP",
        _ => "other",
    }
}

/// Every `type` label [`label`] gives, for metric pre-initialisation.
pub const LABELS: [&str; 25] = [
    "GRQ", "GCF", "GRJ", "RRQ", "RCF", "RRJ", "URQ", "UCF", "URJ", "ARQ", "ACF", "ARJ", "BRQ",
    "BCF", "BRJ", "DRQ", "DCF", "DRJ", "LRQ", "LCF", "LRJ", "IRQ", "IRR", "RIP", "other",
];

/// The Q.850 cause a call fails with when its admission is rejected (H.225.0 gives the
/// reasons; the causes are ours, chosen so that routing fails over where another trunk
/// may succeed): unknown or unregistered callee 20, no route 3, incomplete number 28,
/// capacity or resources 34/47, anything else (permission, security, undefined) 21.
pub fn arj_cause(r: &AdmissionRejectReason) -> Q850Cause {
    match r {
        AdmissionRejectReason::calledPartyNotRegistered(()) => Q850Cause::SUBSCRIBER_ABSENT,
        AdmissionRejectReason::incompleteAddress(()) => Q850Cause::INVALID_NUMBER_FORMAT,
        AdmissionRejectReason::resourceUnavailable(()) => Q850Cause::RESOURCE_UNAVAILABLE,
        AdmissionRejectReason::exceedsCallCapacity(()) => Q850Cause::NO_CIRCUIT_AVAILABLE,
        AdmissionRejectReason::noRouteToDestination(()) => Q850Cause::NO_ROUTE_TO_DESTINATION,
        _ => Q850Cause::CALL_REJECTED,
    }
}

/// One gatekeeper trunk's RAS settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RasConfig {
    /// The gatekeeper's RAS address (GRQ and the first RRQ go here).
    pub gatekeeper: SocketAddr,
    /// The gatekeeper identifier to ask for; learnt from GCF otherwise.
    pub gatekeeper_id: Option<String>,
    /// h323-ID aliases.
    pub h323_ids: Vec<String>,
    /// E.164 (dialedDigits) aliases.
    pub e164: Vec<String>,
    /// `timeToLive` asked for, seconds.
    pub time_to_live: u32,
    /// Our RAS address (the bound socket).
    pub ras_address: SocketAddr,
    /// Our H.225.0 call signalling address.
    pub call_signal: SocketAddr,
}

/// What an admitted (or admitting) call is, for ARQ/DRQ/BRQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RasCall {
    /// H.225.0 CallIdentifier.
    pub call_id: [u8; 16],
    /// ConferenceIdentifier.
    pub conference_id: [u8; 16],
    /// The call reference value of the call's Q.931 messages.
    pub crv: u16,
    /// True for an incoming call (ARQ `answerCall`).
    pub answer: bool,
    /// The called number (ARQ `destinationInfo`).
    pub called: String,
    /// The calling number (ARQ `srcInfo`, with our aliases).
    pub calling: Option<String>,
}

/// What the RAS endpoint asks of its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum RasOutput {
    /// Send one datagram.
    Transmit {
        /// Where.
        to: SocketAddr,
        /// The aligned-PER `RasMessage`.
        bytes: Vec<u8>,
        /// Its type (`GRQ`, `ARQ`, ...), for metrics.
        label: &'static str,
        /// True when it repeats a request that got no answer.
        retransmission: bool,
    },
    /// The registration state changed.
    Registered(bool),
    /// Call `call` may proceed: call `dest` (the gatekeeper itself when routed).
    Admitted {
        /// The owner's call key.
        call: u64,
        /// Where the Setup goes (ACF `destCallSignalAddress`).
        dest: SocketAddr,
        /// ACF `callModel` gatekeeperRouted.
        gatekeeper_routed: bool,
    },
    /// Call `call` was not admitted (ARJ, not registered, or no answer).
    Rejected {
        /// The owner's call key.
        call: u64,
        /// The cause to fail it with.
        cause: Q850Cause,
    },
    /// The gatekeeper ended call `call` (its DRQ, confirmed).
    Disengaged {
        /// The owner's call key.
        call: u64,
    },
}

/// Registration state (H.225.0 §7.2, §7.9).
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Not started, or waiting for [`RETRY_AFTER`].
    Idle,
    /// GRQ sent.
    Discovering,
    /// Full RRQ sent.
    Registering,
    /// RCF received.
    Registered,
    /// URQ sent at shutdown; nothing more.
    Unregistering,
}

#[derive(Debug, Clone)]
struct Pending {
    kind: RasKind,
    bytes: Vec<u8>,
    label: &'static str,
    retries_left: u8,
    deadline: Instant,
    /// The call of an ARQ/DRQ/BRQ.
    call: Option<u64>,
}

/// The RAS side of one gatekeeper trunk.
#[derive(Debug)]
pub struct RasEndpoint {
    cfg: RasConfig,
    state: State,
    /// Where RAS goes: the configured address, then the GCF's `rasAddress`.
    gk_ras: SocketAddr,
    gk_id: Option<GatekeeperIdentifier>,
    endpoint_id: Option<EndpointIdentifier>,
    seq: u16,
    pending: BTreeMap<u16, Pending>,
    /// Next discovery/registration attempt, or the lightweight RRQ.
    wake: Option<Instant>,
    calls: HashMap<u64, RasCall>,
    /// Calls admitted and not disengaged.
    admitted: HashMap<u64, u32>,
    out: VecDeque<RasOutput>,
}

fn aliases(cfg: &RasConfig) -> Vec<AliasAddress> {
    let mut out: Vec<AliasAddress> = cfg.e164.iter().filter_map(|d| dialed_digits(d)).collect();
    out.extend(cfg.h323_ids.iter().filter_map(|n| h323_id(n).ok()));
    out
}

/// Our vendor: no T.35 code of our own, so the "no manufacturer" values (country 0xB5
/// is the USA; H.225.0 needs some value; 0/0/0 is what endpoints without one send).
fn vendor() -> VendorIdentifier {
    VendorIdentifier::new(H221NonStandard::new(0, 0, 0), None, None, None)
}

impl RasEndpoint {
    /// An endpoint for `cfg`; nothing is sent before [`start`](Self::start).
    pub fn new(cfg: RasConfig, seed: u16) -> Self {
        let gk_id = cfg
            .gatekeeper_id
            .as_deref()
            .and_then(|g| bmp_string(g).ok())
            .map(GatekeeperIdentifier);
        RasEndpoint {
            gk_ras: cfg.gatekeeper,
            cfg,
            state: State::Idle,
            gk_id,
            endpoint_id: None,
            seq: seed.max(1),
            pending: BTreeMap::new(),
            wake: None,
            calls: HashMap::new(),
            admitted: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// True while registered (RCF received and not lost).
    pub fn is_registered(&self) -> bool {
        self.state == State::Registered
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<RasOutput> {
        self.out.pop_front()
    }

    /// The earliest deadline: a retransmission, a retry or the lightweight RRQ.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.deadline)
            .chain(self.wake)
            .min()
    }

    /// Starts discovery (GRQ).
    pub fn start(&mut self, now: Instant) {
        if self.state == State::Idle {
            self.discover(now);
        }
    }

    fn next_seq(&mut self) -> u16 {
        // RequestSeqNum is 1..65535; skip numbers still pending.
        loop {
            self.seq = self.seq.checked_add(1).unwrap_or(1);
            if !self.pending.contains_key(&self.seq) {
                return self.seq;
            }
        }
    }

    fn send_request(&mut self, now: Instant, kind: RasKind, msg: RasMessage, call: Option<u64>) {
        let seq = match &msg {
            RasMessage::gatekeeperRequest(m) => m.request_seq_num.0,
            RasMessage::registrationRequest(m) => m.request_seq_num.0,
            RasMessage::unregistrationRequest(m) => m.request_seq_num.0,
            RasMessage::admissionRequest(m) => m.request_seq_num.0,
            RasMessage::bandwidthRequest(m) => m.request_seq_num.0,
            RasMessage::disengageRequest(m) => m.request_seq_num.0,
            _ => return,
        };
        let Some(bytes) = self.encode(&msg) else {
            return;
        };
        let (timeout, retries) = kind.timing();
        let label = label(&msg);
        self.out.push_back(RasOutput::Transmit {
            to: self.gk_ras,
            bytes: bytes.clone(),
            label,
            retransmission: false,
        });
        self.pending.insert(
            seq,
            Pending {
                kind,
                bytes,
                label,
                retries_left: retries,
                deadline: now + timeout,
                call,
            },
        );
    }

    fn encode(&self, msg: &RasMessage) -> Option<Vec<u8>> {
        match h225::encode_ras(msg) {
            Ok(b) => Some(b),
            // Only a value outside its constraints fails (an alias too long); the
            // configuration check keeps them in range.
            Err(e) => {
                warn!(error = %e, "RAS message not encoded");
                None
            }
        }
    }

    fn reply(&mut self, to: SocketAddr, msg: &RasMessage) {
        if let Some(bytes) = self.encode(msg) {
            self.out.push_back(RasOutput::Transmit {
                to,
                bytes,
                label: label(msg),
                retransmission: false,
            });
        }
    }

    fn set_registered(&mut self, registered: bool) {
        let was = self.state == State::Registered;
        if was != registered {
            self.out.push_back(RasOutput::Registered(registered));
        }
    }

    fn discover(&mut self, now: Instant) {
        self.set_registered(false);
        self.state = State::Discovering;
        self.wake = None;
        let seq = self.next_seq();
        let mut grq = GatekeeperRequest::new(
            RequestSeqNum(seq),
            protocol_identifier_v7(),
            None,
            h225_address(self.cfg.ras_address),
            gateway_endpoint(),
            self.gk_id.clone(),
            None,
            Some(aliases(&self.cfg)).filter(|a| !a.is_empty()),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(false),
            None,
        );
        grq.supports_assigned_gk = Some(false);
        self.send_request(now, RasKind::Grq, RasMessage::gatekeeperRequest(grq), None);
    }

    fn rrq(&mut self, keep_alive: bool) -> RasMessage {
        let seq = self.next_seq();
        let full = !keep_alive;
        RasMessage::registrationRequest(RegistrationRequest::new(
            RequestSeqNum(seq),
            protocol_identifier_v7(),
            None,
            true,
            vec![h225_address(self.cfg.call_signal)],
            vec![h225_address(self.cfg.ras_address)],
            gateway_endpoint(),
            Some(aliases(&self.cfg)).filter(|a| full && !a.is_empty()),
            self.gk_id.clone(),
            vendor(),
            None,
            Some(TimeToLive(self.cfg.time_to_live.max(1))),
            None,
            None,
            None,
            Some(keep_alive),
            self.endpoint_id.clone().filter(|_| keep_alive),
            Some(false),
            Some(false),
            None,
            None,
            None,
            None,
            None,
            Some(false),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(false),
            None,
            None,
            None,
        ))
    }

    fn register(&mut self, now: Instant) {
        self.state = State::Registering;
        self.wake = None;
        let msg = self.rrq(false);
        self.send_request(now, RasKind::Rrq, msg, None);
    }

    fn retry_later(&mut self, now: Instant) {
        self.set_registered(false);
        self.state = State::Idle;
        self.endpoint_id = None;
        self.wake = Some(now + RETRY_AFTER);
    }

    /// Asks admission for call `call` (ARQ). Answered by [`RasOutput::Admitted`] or
    /// [`RasOutput::Rejected`] (at once when not registered: cause 38).
    pub fn admit(&mut self, now: Instant, call: u64, c: RasCall) {
        let Some(endpoint_id) = self.endpoint_id.clone().filter(|_| self.is_registered()) else {
            debug!(call, "admission asked while not registered");
            self.out.push_back(RasOutput::Rejected {
                call,
                cause: Q850Cause::NETWORK_OUT_OF_ORDER,
            });
            return;
        };
        let seq = self.next_seq();
        let mut src: Vec<AliasAddress> = c
            .calling
            .as_deref()
            .and_then(dialed_digits)
            .into_iter()
            .collect();
        src.extend(aliases(&self.cfg));
        if src.is_empty() {
            // srcInfo is mandatory and not empty: our call signalling address as a
            // transportID alias.
            src.push(AliasAddress::transportID(h225_address(
                self.cfg.call_signal,
            )));
        }
        let mut arq = AdmissionRequest::new(
            RequestSeqNum(seq),
            CallType::pointToPoint(()),
            None,
            endpoint_id,
            dialed_digits(&c.called).map(|a| vec![a]),
            None,
            None,
            src,
            Some(h225_address(self.cfg.call_signal)),
            BandWidth(G711_CALL_BANDWIDTH),
            CallReferenceValue(c.crv),
            None,
            None,
            conference_identifier(c.conference_id),
            false,
            c.answer,
            Some(false),
            Some(call_identifier(c.call_id)),
            None,
            None,
            self.gk_id.clone(),
            None,
            None,
            None,
            None,
            Some(false),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(false),
        );
        if c.answer {
            arq.src_call_signal_address = None;
            arq.dest_call_signal_address = Some(h225_address(self.cfg.call_signal));
        }
        self.calls.insert(call, c);
        self.send_request(
            now,
            RasKind::Arq,
            RasMessage::admissionRequest(arq),
            Some(call),
        );
    }

    /// The call ended: DRQ when it was admitted (H.225.0 §7.11); forgets it either way.
    pub fn disengage(&mut self, now: Instant, call: u64, answered: bool) {
        // A pending ARQ for it is dropped (its answer is ignored).
        self.pending
            .retain(|_, p| !(p.kind == RasKind::Arq && p.call == Some(call)));
        let c = self.calls.remove(&call);
        if self.admitted.remove(&call).is_none() {
            return;
        }
        let (Some(c), Some(endpoint_id)) = (c, self.endpoint_id.clone()) else {
            return;
        };
        let seq = self.next_seq();
        let mut drq = DisengageRequest::new(
            RequestSeqNum(seq),
            endpoint_id,
            conference_identifier(c.conference_id),
            CallReferenceValue(c.crv),
            DisengageReason::normalDrop(()),
            None,
            Some(call_identifier(c.call_id)),
            self.gk_id.clone(),
            None,
            None,
            None,
            Some(answered),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        );
        drq.answered_call = Some(answered);
        self.send_request(now, RasKind::Drq, RasMessage::disengageRequest(drq), None);
    }

    /// Asks the gatekeeper for `bandwidth` (units of 100 bit/s) on admitted call `call`.
    pub fn change_bandwidth(&mut self, now: Instant, call: u64, bandwidth: u32) {
        let (Some(c), Some(endpoint_id)) = (
            self.calls.get(&call).cloned(),
            self.endpoint_id
                .clone()
                .filter(|_| self.admitted.contains_key(&call)),
        ) else {
            return;
        };
        let seq = self.next_seq();
        let brq = BandwidthRequest::new(
            RequestSeqNum(seq),
            endpoint_id,
            conference_identifier(c.conference_id),
            CallReferenceValue(c.crv),
            Some(CallType::pointToPoint(())),
            BandWidth(bandwidth),
            None,
            Some(call_identifier(c.call_id)),
            self.gk_id.clone(),
            None,
            None,
            None,
            Some(c.answer),
            None,
            None,
            None,
            None,
            None,
            None,
        );
        self.send_request(
            now,
            RasKind::Brq,
            RasMessage::bandwidthRequest(brq),
            Some(call),
        );
    }

    /// Shutdown: URQ once (H.225.0 §7.13), then nothing more is sent.
    pub fn unregister(&mut self, now: Instant) {
        let registered = self.is_registered();
        self.set_registered(false);
        self.pending.clear();
        self.wake = None;
        self.state = State::Unregistering;
        if !registered {
            return;
        }
        let seq = self.next_seq();
        let urq = UnregistrationRequest::new(
            RequestSeqNum(seq),
            vec![h225_address(self.cfg.call_signal)],
            Some(aliases(&self.cfg)).filter(|a| !a.is_empty()),
            None,
            self.endpoint_id.clone(),
            None,
            self.gk_id.clone(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        );
        self.send_request(
            now,
            RasKind::Urq,
            RasMessage::unregistrationRequest(urq),
            None,
        );
    }

    /// One datagram from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let msg = match h225::decode_ras(bytes) {
            Ok(m) => m,
            Err(e) => {
                debug!(%from, error = %e, "RAS message does not decode");
                return;
            }
        };
        match msg {
            RasMessage::gatekeeperConfirm(m) => {
                if self.take(m.request_seq_num.0, RasKind::Grq).is_none() {
                    return;
                }
                if m.gatekeeper_identifier.is_some() {
                    self.gk_id = m.gatekeeper_identifier;
                }
                if let Some(a) = socket_of(&m.ras_address) {
                    self.gk_ras = a;
                }
                self.register(now);
            }
            RasMessage::gatekeeperReject(m) => {
                if self.take(m.request_seq_num.0, RasKind::Grq).is_some() {
                    warn!(reason = ?m.reject_reason, "gatekeeper rejected discovery (GRJ)");
                    self.retry_later(now);
                }
            }
            RasMessage::registrationConfirm(m) => {
                if self.take(m.request_seq_num.0, RasKind::Rrq).is_none() {
                    return;
                }
                self.endpoint_id = Some(m.endpoint_identifier);
                if m.gatekeeper_identifier.is_some() {
                    self.gk_id = m.gatekeeper_identifier;
                }
                self.set_registered(true);
                self.state = State::Registered;
                self.wake = m
                    .time_to_live
                    .map(|t| now + refresh_after(Duration::from_secs(u64::from(t.0))));
            }
            RasMessage::registrationReject(m) => {
                if self.take(m.request_seq_num.0, RasKind::Rrq).is_none() {
                    return;
                }
                warn!(reason = ?m.reject_reason, "gatekeeper rejected registration (RRJ)");
                match m.reject_reason {
                    // §7.9.1: the lightweight RRQ was not enough: register in full now.
                    RegistrationRejectReason::fullRegistrationRequired(()) => {
                        self.set_registered(false);
                        self.register(now);
                    }
                    // Discovery asked for (or the gatekeeper forgot us): start over.
                    RegistrationRejectReason::discoveryRequired(()) => self.discover(now),
                    _ => self.retry_later(now),
                }
            }
            RasMessage::unregistrationConfirm(m) => {
                self.take(m.request_seq_num.0, RasKind::Urq);
            }
            RasMessage::unregistrationReject(m) => {
                self.take(m.request_seq_num.0, RasKind::Urq);
            }
            RasMessage::admissionConfirm(m) => {
                let Some(p) = self.take(m.request_seq_num.0, RasKind::Arq) else {
                    return;
                };
                let Some(call) = p.call.filter(|c| self.calls.contains_key(c)) else {
                    return;
                };
                let routed = matches!(m.call_model, CallModel::gatekeeperRouted(()));
                match socket_of(&m.dest_call_signal_address) {
                    Some(dest) => {
                        self.admitted.insert(call, m.band_width.0);
                        self.out.push_back(RasOutput::Admitted {
                            call,
                            dest,
                            gatekeeper_routed: routed,
                        });
                    }
                    None => {
                        // An ACF we cannot use (no IP address): as a rejection.
                        self.calls.remove(&call);
                        self.out.push_back(RasOutput::Rejected {
                            call,
                            cause: Q850Cause::NETWORK_OUT_OF_ORDER,
                        });
                    }
                }
            }
            RasMessage::admissionReject(m) => {
                let Some(p) = self.take(m.request_seq_num.0, RasKind::Arq) else {
                    return;
                };
                if let Some(call) = p.call
                    && self.calls.remove(&call).is_some()
                {
                    debug!(call, reason = ?m.reject_reason, "admission rejected (ARJ)");
                    self.out.push_back(RasOutput::Rejected {
                        call,
                        cause: arj_cause(&m.reject_reason),
                    });
                }
            }
            RasMessage::bandwidthConfirm(m) => {
                if let Some(p) = self.take(m.request_seq_num.0, RasKind::Brq)
                    && let Some(call) = p.call
                    && let Some(bw) = self.admitted.get_mut(&call)
                {
                    *bw = m.band_width.0;
                }
            }
            RasMessage::bandwidthReject(m) => {
                self.take(m.request_seq_num.0, RasKind::Brq);
            }
            RasMessage::disengageConfirm(m) => {
                self.take(m.request_seq_num.0, RasKind::Drq);
            }
            RasMessage::disengageReject(m) => {
                self.take(m.request_seq_num.0, RasKind::Drq);
            }
            RasMessage::requestInProgress(m) => {
                // §7.17 (RIP): the answer comes later; wait `delay` ms more.
                if let Some(p) = self.pending.get_mut(&m.request_seq_num.0) {
                    p.deadline = now + Duration::from_millis(u64::from(m.delay));
                }
            }
            RasMessage::infoRequest(m) => {
                let to = m.reply_address.as_ref().and_then(socket_of).unwrap_or(from);
                let irr = self.irr(m.request_seq_num.0);
                if let Some(irr) = irr {
                    self.reply(to, &irr);
                }
            }
            RasMessage::disengageRequest(m) => {
                let dcf = RasMessage::disengageConfirm(DisengageConfirm::new(
                    m.request_seq_num,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ));
                self.reply(from, &dcf);
                let gone = m.call_identifier.as_ref().and_then(|cid| {
                    self.calls
                        .iter()
                        .find(|(_, c)| c.call_id[..] == cid.guid.0[..])
                        .map(|(k, _)| *k)
                });
                if let Some(call) = gone {
                    self.calls.remove(&call);
                    self.admitted.remove(&call);
                    self.out.push_back(RasOutput::Disengaged { call });
                }
            }
            RasMessage::bandwidthRequest(m) => {
                let bcf = RasMessage::bandwidthConfirm(BandwidthConfirm::new(
                    m.request_seq_num,
                    m.band_width,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ));
                self.reply(from, &bcf);
            }
            RasMessage::unregistrationRequest(m) => {
                // §7.13.2: the gatekeeper drops us: confirm, register again.
                let ucf = RasMessage::unregistrationConfirm(UnregistrationConfirm::new(
                    m.request_seq_num,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ));
                self.reply(from, &ucf);
                if self.state != State::Unregistering {
                    self.set_registered(false);
                    self.endpoint_id = None;
                    self.state = State::Idle;
                    self.discover(now);
                }
            }
            other => debug!(message = label(&other), "RAS message not handled"),
        }
    }

    /// Removes and returns the pending request `seq` if it is of `kind`.
    fn take(&mut self, seq: u16, kind: RasKind) -> Option<Pending> {
        if self.pending.get(&seq).is_some_and(|p| p.kind == kind) {
            self.pending.remove(&seq)
        } else {
            debug!(seq, ?kind, "RAS response to no pending request");
            None
        }
    }

    /// IRR answering IRQ `seq` (H.225.0 §7.15.2), when registered.
    fn irr(&self, seq: u16) -> Option<RasMessage> {
        let endpoint_id = self.endpoint_id.clone()?;
        Some(RasMessage::infoRequestResponse(InfoRequestResponse::new(
            None,
            RequestSeqNum(seq),
            gateway_endpoint(),
            endpoint_id,
            h225_address(self.cfg.ras_address),
            vec![h225_address(self.cfg.call_signal)],
            Some(aliases(&self.cfg)).filter(|a| !a.is_empty()),
            None,
            None,
            None,
            None,
            Some(false),
            None,
            None,
            Some(false),
            None,
        )))
    }

    /// Retransmissions, final timeouts, retries and the lightweight RRQ due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(s, _)| *s)
            .collect();
        for seq in due {
            let Some(p) = self.pending.get_mut(&seq) else {
                continue;
            };
            if p.retries_left > 0 {
                p.retries_left -= 1;
                p.deadline = now + p.kind.timing().0;
                self.out.push_back(RasOutput::Transmit {
                    to: self.gk_ras,
                    bytes: p.bytes.clone(),
                    label: p.label,
                    retransmission: true,
                });
                continue;
            }
            let Some(p) = self.pending.remove(&seq) else {
                continue;
            };
            debug!(request = p.label, "RAS request got no answer");
            match p.kind {
                RasKind::Grq | RasKind::Rrq => {
                    if self.state != State::Unregistering {
                        self.retry_later(now);
                    }
                }
                RasKind::Arq => {
                    if let Some(call) = p.call
                        && self.calls.remove(&call).is_some()
                    {
                        self.out.push_back(RasOutput::Rejected {
                            call,
                            cause: Q850Cause::NETWORK_OUT_OF_ORDER,
                        });
                    }
                }
                RasKind::Urq | RasKind::Brq | RasKind::Drq => {}
            }
        }
        if self.wake.is_some_and(|w| w <= now) {
            self.wake = None;
            match self.state {
                State::Idle => self.discover(now),
                State::Registered => {
                    // §7.9.1 lightweight re-registration before timeToLive runs out.
                    let msg = self.rrq(true);
                    self.send_request(now, RasKind::Rrq, msg, None);
                }
                _ => {}
            }
        }
    }

    /// The gatekeeper identifier in use (configured or from GCF/RCF).
    pub fn gatekeeper_id(&self) -> Option<String> {
        self.gk_id.as_ref().map(|g| bmp_to_string(&g.0))
    }
}

#[cfg(test)]
mod tests;
