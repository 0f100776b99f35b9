//! H.323 call legs: H.225.0 call signalling (Q.931 over TCP) with fast connect (H.323
//! §8.1.7) and H.245 tunnelled in H.225.0 (H.225.0 §8.2.1), translated to and from the
//! neutral call model with `mapping::q931::translate`. The call core sees only
//! [`H323Output::Incoming`], [`H323Output::Event`] and [`H323Output::Gone`]; the shell
//! moves TPKT frames, opens and closes TCP connections, and calls
//! [`H323Calls::handle_timeout`] at [`H323Calls::poll_timeout`].
//!
//! Sans-IO (DESIGN.md): every input takes `now`; outputs queue up for
//! [`H323Calls::poll_output`], to be drained after every input.
//!
//! Model:
//! - one call per TCP connection (our messages say `multipleCalls` FALSE, H.225.0 §7.1);
//!   a connection is closed when its last call ends;
//! - a call is found by (connection, call reference value, flag): flag 0 in a received
//!   message means the peer allocated the reference (our incoming leg), flag 1 that we
//!   did (outgoing leg) (Q.931 §4.3);
//! - states are Q.931's user-side call states (U1, U3, U4, U6, U7, U9, U10); RELEASE
//!   COMPLETE is H.225.0's only clearing message, so a leg is forgotten as soon as it is
//!   sent or received;
//! - Q.931 timers as H.225.0 uses them, on outgoing legs: [`Timer::T303`], [`Timer::T310`],
//!   [`Timer::T301`]. TCP is reliable, so a first T303 expiry clears the call rather than
//!   repeating the SETUP as Q.931 §5.1.1 does on a D-channel.
//!
//! Media:
//! - incoming fast start: the Setup's proposals become `Setup.media` (an offer); the call
//!   core's answer (in Alerting, Progress or Connect) picks the proposals that go back
//!   ([`Proposals::accept`]); a Connect without an answer refuses fast start;
//! - outgoing fast start: `Setup.media` (our offer) becomes proposals; the accepted ones in
//!   any response become a `MediaExchange::Answer`, handed to the call core with the next
//!   Alerting, Progress or Connect, or as `CallEvent::Media` once connected;
//! - slow start (fast start off, refused, or not answered by Connect, H.323 §8.1.7):
//!   tunnelled H.245 ([`H245Control`]). When our channel is acknowledged and the peer's is
//!   open, the leg reports the peer's RTP address as a `MediaExchange::Answer`: on an
//!   outgoing leg it answers our Setup's offer (delivered like a fast start answer); on an
//!   incoming leg it answers the offer the call core sent us in Alerting, Progress or
//!   Connect (a Setup without fast start is a delayed offer), as `CallEvent::Media`. If
//!   the call core sent an answer instead, the peer's channels are reported as
//!   `MediaExchange::Offer`;
//! - a separate H.245 connection (H.225.0 §7.2/§8.2, H.323 §8.1.1/§8.2.3) when a leg does
//!   not tunnel: a peer's `h245Address` (in any message, or a Facility `startH245`) is
//!   connected to ([`H323Output::H245Connect`]); otherwise the leg listens
//!   ([`H323Output::H245Listen`]) and offers its address in its first response, or in a
//!   Facility `startH245` when a message has gone already. The same [`H245Control`] runs
//!   over it, framed in TPKT ([`H323Output::H245Transmit`]). When both sides listen and
//!   both send `startH245`, the one with the numerically smaller address closes its
//!   listener and connects (H.323 §8.2.3).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use h323_asn1::h225::{
    AlertingUUIE, AliasAddress, CallIdentifier, CallProceedingUUIE, ConferenceIdentifier,
    ConnectUUIE, EndpointType, FacilityReason, FacilityUUIE, GatewayInfo,
    H323UUPDUH323MessageBody as Body, H323UserInformation, InformationUUIE, PresentationIndicator,
    ProgressUUIE, ReleaseCompleteUUIE, ScreeningIndicator, SetupUUIE, StatusUUIE, TransportAddress,
    TransportAddressIp6Address, call_identifier, conference_identifier, dialed_digits,
    ipv4_address, protocol_identifier_v7, setup_uuie, terminal_endpoint, user_information,
};
use mapping::cause::{Cause, Location, Q850Cause};
use mapping::model::{
    CallEvent, CodecName, Info, Initiator, Media, MediaExchange, ProgressDescription, Release,
    Setup,
};
use mapping::number::{Digits, PartyNumber, Presentation, Screening};
use mapping::q931::ies::{CallState, CallStateValue, CauseIe, Layer1Protocol};
use mapping::q931::translate::{self, Outgoing};
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use tracing::{debug, warn};

use super::fast_start::{self, Proposals};
use super::h245_control::{H245Control, H245Event};
use super::release_reason::{cause_of_reason, reason_for_cause};
use super::uuie::{self, UuieError};
use super::without_calls::tpkt;

/// An H.323 call leg, as the call core names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct H323LegId(pub u64);

impl std::fmt::Display for H323LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "h323-{}", self.0)
    }
}

/// The shell's TCP connection id.
pub type ConnId = u64;

/// What the H.323 legs ask of the call core and the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum H323Output {
    /// A new incoming call (Setup decoded); the call core routes it, then answers with
    /// [`H323Calls::send`].
    Incoming {
        /// The new leg.
        leg: H323LegId,
        /// The connection it came on (the shell knows its peer address).
        conn: ConnId,
        /// The call, with the fast start offer as `media` when the Setup had one.
        setup: Box<Setup>,
    },
    /// A call event from the far end of a leg.
    Event {
        /// The leg.
        leg: H323LegId,
        /// The event.
        event: CallEvent,
    },
    /// The leg is finished and forgotten.
    Gone {
        /// The leg.
        leg: H323LegId,
    },
    /// Send these bytes (one TPKT frame, RFC 1006 header included) on a connection.
    Transmit {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
        /// The UUIE body name, for metrics (`setup`, `connect`, `facility`, ...).
        label: &'static str,
    },
    /// Open a TCP connection to `addr` for `leg`; answer with [`H323Calls::connected`] or
    /// [`H323Calls::connect_failed`].
    Connect {
        /// The outgoing leg.
        leg: H323LegId,
        /// Where to (the peer's H.225.0 call signalling address).
        addr: SocketAddr,
    },
    /// Close a connection: the call on it ended (H.225.0 §7.1: one call per connection
    /// unless `multipleCalls`).
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// A message that did not decode (Q.931 framing, User-user PER or tunnelled H.245).
    DecodeError {
        /// The connection it came on.
        conn: ConnId,
    },
    /// Listen for the leg's separate H.245 connection on `ip` (any port); answer with
    /// [`H323Calls::h245_listening`] (then [`H323Calls::h245_up`] when a connection is
    /// accepted) or [`H323Calls::h245_failed`].
    H245Listen {
        /// The leg.
        leg: H323LegId,
        /// Its H.225.0 connection (when `ip` is unspecified, the shell listens on that
        /// connection's local address).
        conn: ConnId,
        /// The address to listen on (our H.225.0 address).
        ip: IpAddr,
    },
    /// Stop listening for the leg's H.245 connection (it is up another way, or the leg
    /// ended).
    H245StopListening {
        /// The leg.
        leg: H323LegId,
    },
    /// Open the leg's separate H.245 connection to the peer's `h245Address`; answer with
    /// [`H323Calls::h245_up`] or [`H323Calls::h245_failed`].
    H245Connect {
        /// The leg.
        leg: H323LegId,
        /// The peer's H.245 address.
        addr: SocketAddr,
    },
    /// An H.245 procedure of the leg timed out (for metrics): `timer` is `T101`, `T103`
    /// or `T106`.
    H245Timeout {
        /// The leg.
        leg: H323LegId,
        /// The spec name of the timer.
        timer: &'static str,
    },
    /// Send one TPKT frame (an H.245 `MultimediaSystemControlMessage`) on a separate H.245
    /// connection.
    H245Transmit {
        /// The H.245 connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
        /// The H.245 message name, for metrics (`terminalCapabilitySet`, ...).
        label: &'static str,
    },
}

/// The separate H.245 connection of a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum H245Link {
    /// None yet (tunnelling, fast start only, or not decided).
    None,
    /// We listen; the address once the shell has bound it.
    Listening(Option<SocketAddr>),
    /// We connect to the peer's address.
    Connecting,
    /// Up on this connection.
    Up(ConnId),
    /// Closed or failed: not tried again on this call.
    Closed,
}

/// A socket address of an H.225.0 `TransportAddress` (IPv4 or IPv6).
pub(crate) fn socket_of(a: &TransportAddress) -> Option<SocketAddr> {
    match a {
        TransportAddress::ipAddress(ip) => {
            let o: [u8; 4] = ip.ip.as_ref().try_into().ok()?;
            Some(SocketAddr::from((o, ip.port)))
        }
        TransportAddress::ip6Address(ip) => {
            let o: [u8; 16] = ip.ip.as_ref().try_into().ok()?;
            Some(SocketAddr::from((o, ip.port)))
        }
        _ => None,
    }
}

/// The `h245Address` a message body names.
fn h245_address_of(body: &Body) -> Option<SocketAddr> {
    let a = match body {
        Body::setup(b) => b.h245_address.as_ref(),
        Body::callProceeding(b) => b.h245_address.as_ref(),
        Body::alerting(b) => b.h245_address.as_ref(),
        Body::progress(b) => b.h245_address.as_ref(),
        Body::connect(b) => b.h245_address.as_ref(),
        Body::facility(b) => b.h245_address.as_ref(),
        _ => None,
    }?;
    socket_of(a)
}

/// The order H.323 §8.2.3 compares two H.245 addresses in (address octets, then port).
fn address_key(a: SocketAddr) -> (Vec<u8>, u16) {
    let octets = match a.ip() {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    (octets, a.port())
}

/// The name of an H.245 message, for metrics.
pub fn h245_label(bytes: &[u8]) -> &'static str {
    use h323_asn1::h245::{
        CommandMessage as C, IndicationMessage as I, MultimediaSystemControlMessage as M,
        RequestMessage as Rq, ResponseMessage as Rs,
    };
    match h323_asn1::h245::decode(bytes) {
        Ok(M::request(r)) => match r {
            Rq::masterSlaveDetermination(_) => "masterSlaveDetermination",
            Rq::terminalCapabilitySet(_) => "terminalCapabilitySet",
            Rq::openLogicalChannel(_) => "openLogicalChannel",
            Rq::closeLogicalChannel(_) => "closeLogicalChannel",
            Rq::roundTripDelayRequest(_) => "roundTripDelayRequest",
            _ => "request",
        },
        Ok(M::response(r)) => match r {
            Rs::masterSlaveDeterminationAck(_) => "masterSlaveDeterminationAck",
            Rs::masterSlaveDeterminationReject(_) => "masterSlaveDeterminationReject",
            Rs::terminalCapabilitySetAck(_) => "terminalCapabilitySetAck",
            Rs::terminalCapabilitySetReject(_) => "terminalCapabilitySetReject",
            Rs::openLogicalChannelAck(_) => "openLogicalChannelAck",
            Rs::openLogicalChannelReject(_) => "openLogicalChannelReject",
            Rs::closeLogicalChannelAck(_) => "closeLogicalChannelAck",
            Rs::roundTripDelayResponse(_) => "roundTripDelayResponse",
            _ => "response",
        },
        Ok(M::command(C::endSessionCommand(_))) => "endSessionCommand",
        Ok(M::command(_)) => "command",
        Ok(M::indication(I::userInput(_))) => "userInput",
        Ok(M::indication(_)) => "indication",
        Ok(_) => "other",
        Err(_) => "undecodable",
    }
}

/// How a leg uses H.323 options, and our call signalling address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H323Options {
    /// Propose (outgoing) or accept (incoming) fast connect, H.323 §8.1.7.
    pub fast_start: bool,
    /// Offer (outgoing) or accept (incoming) H.245 tunnelling, H.225.0 §8.2.1.
    pub tunnelling: bool,
    /// Our H.225.0 address, for `sourceCallSignalAddress`.
    pub local: SocketAddr,
}

/// How a leg sends DTMF to its peer (the trunk's `dtmf`): H.245 UserInputIndication,
/// or Q.931 Keypad facility (Q.931 §4.5.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtmfForm {
    /// H.245 UserInputIndication `alphanumeric` (the form every H.323 peer reads).
    #[default]
    Alphanumeric,
    /// H.245 UserInputIndication `signal`, with the digit's duration.
    Signal,
    /// Q.931 INFORMATION with a Keypad facility element (no H.245 needed).
    Keypad,
}

impl Default for H323Options {
    fn default() -> Self {
        H323Options {
            fast_start: true,
            tunnelling: true,
            local: SocketAddr::from(([0, 0, 0, 0], 1720)),
        }
    }
}

/// The Q.931 timers H.225.0 keeps (Q.931 §9, Table 9-2 user side), on outgoing legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// SETUP sent, no answer yet (Q.931 §5.1.1). Expiry: RELEASE COMPLETE cause 102.
    T303,
    /// CALL PROCEEDING received, no ALERTING/PROGRESS/CONNECT yet (Q.931 Table 9-2).
    /// Expiry: cause 102.
    T310,
    /// ALERTING received, no CONNECT yet (Q.931 Table 9-1). Expiry: cause 102 toward the
    /// peer, 19 "no answer from user (user alerted)" toward the call core.
    T301,
}

impl Timer {
    const ALL: [Timer; 3] = [Timer::T303, Timer::T310, Timer::T301];

    fn index(self) -> usize {
        match self {
            Timer::T303 => 0,
            Timer::T310 => 1,
            Timer::T301 => 2,
        }
    }
}

/// Q.931 Table 9-2: T303 is 4 s.
pub const T303: Duration = Duration::from_secs(4);
/// Q.931 Table 9-2: T310 is 30-120 s; the lower bound.
pub const T310: Duration = Duration::from_secs(30);
/// Q.931 Table 9-1: T301 is at least 3 minutes.
pub const T301: Duration = Duration::from_secs(180);

/// How long a leg waits for its separate H.245 connection (listening or connecting).
/// H.225.0/H.323 set no value; like H.245's own response timers, 30 s. On expiry a
/// slow-start call without media is cleared with cause 102; a fast-start call goes on.
pub const H245_CONNECT_WAIT: Duration = Duration::from_secs(30);

/// Timer durations, defaulting to [`T303`], [`T310`] and [`T301`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerValues {
    /// T303.
    pub t303: Duration,
    /// T310.
    pub t310: Duration,
    /// T301.
    pub t301: Duration,
}

impl Default for TimerValues {
    fn default() -> Self {
        TimerValues {
            t303: T303,
            t310: T310,
            t301: T301,
        }
    }
}

impl TimerValues {
    /// The duration of `t`.
    pub fn of(&self, t: Timer) -> Duration {
        match t {
            Timer::T303 => self.t303,
            Timer::T310 => self.t310,
            Timer::T301 => self.t301,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Incoming,
    Outgoing,
}

/// Q.931 user-side call states (§2.1.1) the legs pass through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outgoing, waiting for the TCP connection (still U0 on the wire).
    Connecting,
    /// U1 call initiated: SETUP sent.
    CallInitiated,
    /// U3 outgoing call proceeding.
    OutgoingProceeding,
    /// U4 call delivered: ALERTING received.
    CallDelivered,
    /// U6 call present: SETUP received, nothing sent.
    CallPresent,
    /// U9 incoming call proceeding.
    IncomingProceeding,
    /// U7 call received: ALERTING sent.
    CallReceived,
    /// U10 active.
    Active,
}

impl State {
    fn q931(self) -> CallStateValue {
        match self {
            State::Connecting => CallStateValue::NULL,
            State::CallInitiated => CallStateValue::CALL_INITIATED,
            State::OutgoingProceeding => CallStateValue::OUTGOING_CALL_PROCEEDING,
            State::CallDelivered => CallStateValue::CALL_DELIVERED,
            State::CallPresent => CallStateValue::CALL_PRESENT,
            State::IncomingProceeding => CallStateValue::INCOMING_CALL_PROCEEDING,
            State::CallReceived => CallStateValue::CALL_RECEIVED,
            State::Active => CallStateValue::ACTIVE,
        }
    }
}

/// Fast connect on one leg.
#[derive(Debug, Clone, PartialEq)]
enum Fast {
    /// Not in use on this leg.
    Off,
    /// Incoming: the caller's proposals, not answered yet.
    Offered(Proposals),
    /// Incoming: the caller proposed but we do not do fast start; the next response says
    /// `fastConnectRefused`.
    RefusePending,
    /// Outgoing: proposals sent, no answer yet.
    Proposed,
    /// Answered (sent or received).
    Accepted,
    /// Refused: media goes through H.245.
    Refused,
}

#[derive(Debug)]
struct Leg {
    dir: Dir,
    state: State,
    /// How DTMF toward the peer goes (the trunk's `dtmf`).
    dtmf: DtmfForm,
    conn: Option<ConnId>,
    crv: u16,
    opts: H323Options,
    call_id: CallIdentifier,
    conference_id: ConferenceIdentifier,
    /// Tunnelling in use (outgoing: as offered until the first response decides).
    tunnelling: bool,
    /// Outgoing: the first response has said whether the callee tunnels.
    tunnel_decided: bool,
    h245: H245Control,
    fast: Fast,
    /// Our media (outgoing: the Setup's offer; incoming: from the call core).
    local: Option<Media>,
    /// The call core gave `local` as an offer (incoming delayed offer).
    local_from_offer: bool,
    /// Outgoing: an answer not yet handed to the call core.
    pending_answer: Option<Media>,
    /// Outgoing: the Setup to send once connected.
    setup: Option<Box<Setup>>,
    timers: [Option<Instant>; 3],
    /// The separate H.245 connection, when the leg does not tunnel.
    link: H245Link,
    /// Our H.245 listening address went out (in a response or a Facility).
    h245_address_sent: bool,
    /// Until when we wait for the separate H.245 connection to come up (listening or
    /// connecting); see [`H245_CONNECT_WAIT`].
    h245_wait: Option<Instant>,
}

impl Leg {
    fn call_ref(&self) -> CallReference {
        // Q.931 §4.3: flag 1 in messages of the side that did not allocate the reference.
        CallReference::pri(self.crv, self.dir == Dir::Incoming)
    }

    fn ctx(&self) -> Outgoing {
        Outgoing {
            dialect: Dialect::H225,
            call_ref: self.call_ref(),
            speech_law: self.speech_law(),
            location: Location::PRIVATE_LOCAL,
        }
    }

    /// The G.711 law of the bearer capability (Q.931 §4.5.5 octet 5): u-law when our
    /// media's first G.711 codec is PCMU, else A-law.
    fn speech_law(&self) -> Layer1Protocol {
        let media = self
            .local
            .as_ref()
            .or_else(|| self.setup.as_ref().and_then(|s| s.media.as_ref()));
        let first = media.and_then(|m| {
            m.codecs
                .iter()
                .find(|c| matches!(c.name, CodecName::Pcmu | CodecName::Pcma))
        });
        match first {
            Some(c) if c.name == CodecName::Pcmu => Layer1Protocol::G711_ULAW,
            _ => Layer1Protocol::G711_ALAW,
        }
    }

    fn peer_side(&self) -> Initiator {
        match self.dir {
            Dir::Incoming => Initiator::Caller,
            Dir::Outgoing => Initiator::Callee,
        }
    }

    /// Tunnelled H.245 may go out: the callee's first response has come (outgoing) or
    /// ours has gone (incoming) (H.225.0 §8.2.1).
    fn may_tunnel(&self) -> bool {
        self.tunnelling
            && self.conn.is_some()
            && match self.dir {
                Dir::Outgoing => self.tunnel_decided,
                Dir::Incoming => self.state != State::CallPresent,
            }
    }

    fn codec_prefs(&self) -> Vec<mapping::model::Codec> {
        self.local
            .as_ref()
            .or(self.setup.as_ref().and_then(|s| s.media.as_ref()))
            .map(|m| m.codecs.clone())
            .unwrap_or_default()
    }

    fn set_timer(&mut self, t: Timer, at: Option<Instant>) {
        self.timers[t.index()] = at;
    }

    /// Our media address and codecs, the first time the call core names them.
    fn learn_local(&mut self, m: &MediaExchange) {
        let (media, offer) = match m {
            MediaExchange::Offer(x) => (x, true),
            MediaExchange::Answer(x) => (x, false),
        };
        if self.local.is_some() {
            return;
        }
        if let Some(rtp) = media.rtp {
            self.local = Some(media.clone());
            self.local_from_offer = offer;
            self.h245.set_local(rtp, media.rtcp, &media.codecs);
        }
    }
}

#[derive(Debug, Default)]
struct Conn {
    calls: usize,
}

/// All H.323 call legs of the gateway.
#[derive(Debug)]
pub struct H323Calls {
    legs: HashMap<H323LegId, Leg>,
    /// (connection, call reference value, we allocated it) -> leg.
    by_ref: HashMap<(ConnId, u16, bool), H323LegId>,
    conns: HashMap<ConnId, Conn>,
    /// Separate H.245 connections -> their leg.
    h245_conns: HashMap<ConnId, H323LegId>,
    /// Legs whose H.245 changed in this input (their timers get deadlines).
    touched: Vec<H323LegId>,
    /// Outgoing legs released before their connection came up.
    abandoned: HashSet<H323LegId>,
    /// Outgoing legs waiting for admission (RAS ARQ) before they connect.
    undialled: HashSet<H323LegId>,
    rng: u64,
    next_leg: u64,
    inbound: H323Options,
    timer_values: TimerValues,
    out: VecDeque<H323Output>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A gateway `EndpointType` (H.225.0: `gateway` present, `mc` FALSE).
pub(crate) fn gateway_endpoint() -> EndpointType {
    let mut e = terminal_endpoint();
    e.terminal = None;
    e.gateway = Some(GatewayInfo::new(None, None));
    e
}

/// An H.225.0 `TransportAddress` for a socket address.
pub(crate) fn h225_address(a: SocketAddr) -> TransportAddress {
    match a.ip() {
        IpAddr::V4(ip) => ipv4_address(ip, a.port()),
        IpAddr::V6(ip) => TransportAddress::ip6Address(TransportAddressIp6Address::new(
            ip.octets().to_vec().into(),
            a.port(),
        )),
    }
}

/// A `dialedDigits` alias for digits in its alphabet (`0-9 # * ,`), else none.
fn digits_alias(d: &Digits) -> Option<AliasAddress> {
    let s = d.as_str();
    if s.is_empty()
        || s.len() > 128
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '#' || c == '*')
    {
        return None;
    }
    dialed_digits(s)
}

fn first_dialed(aliases: Option<&Vec<AliasAddress>>) -> Option<Digits> {
    aliases.into_iter().flatten().find_map(|a| match a {
        AliasAddress::dialedDigits(d) => {
            let text: String = String::from_utf8_lossy(d.as_iso646_bytes())
                .chars()
                .filter(|c| *c != ',')
                .collect();
            Digits::new(&text).ok().filter(|d| !d.is_empty())
        }
        _ => None,
    })
}

fn presentation_of(p: &PresentationIndicator) -> Option<Presentation> {
    match p {
        PresentationIndicator::presentationAllowed(()) => Some(Presentation::ALLOWED),
        PresentationIndicator::presentationRestricted(()) => Some(Presentation::RESTRICTED),
        PresentationIndicator::addressNotAvailable(()) => Some(Presentation::NOT_AVAILABLE),
        _ => None,
    }
}

fn screening_of(s: ScreeningIndicator) -> Option<Screening> {
    match s {
        ScreeningIndicator::userProvidedNotScreened => Some(Screening::USER_NOT_SCREENED),
        ScreeningIndicator::userProvidedVerifiedAndPassed => Some(Screening::USER_VERIFIED_PASSED),
        ScreeningIndicator::userProvidedVerifiedAndFailed => Some(Screening::USER_VERIFIED_FAILED),
        ScreeningIndicator::networkProvided => Some(Screening::NETWORK_PROVIDED),
        _ => None,
    }
}

fn presentation_indicator(p: Presentation) -> Option<PresentationIndicator> {
    match p {
        Presentation::ALLOWED => Some(PresentationIndicator::presentationAllowed(())),
        Presentation::RESTRICTED => Some(PresentationIndicator::presentationRestricted(())),
        Presentation::NOT_AVAILABLE => Some(PresentationIndicator::addressNotAvailable(())),
        _ => None,
    }
}

fn screening_indicator(s: Screening) -> Option<ScreeningIndicator> {
    match s {
        Screening::USER_NOT_SCREENED => Some(ScreeningIndicator::userProvidedNotScreened),
        Screening::USER_VERIFIED_PASSED => Some(ScreeningIndicator::userProvidedVerifiedAndPassed),
        Screening::USER_VERIFIED_FAILED => Some(ScreeningIndicator::userProvidedVerifiedAndFailed),
        Screening::NETWORK_PROVIDED => Some(ScreeningIndicator::networkProvided),
        _ => None,
    }
}

/// Numbers the Q.931 elements lack, from the Setup-UUIE's aliases (H.225.0: the
/// Called/Calling party number elements and `destinationAddress`/`sourceAddress` say
/// the same; some endpoints send only the aliases).
fn augment_setup(setup: &mut Setup, s: &SetupUUIE) {
    if setup.called.digits.is_empty()
        && let Some(d) = first_dialed(s.destination_address.as_ref())
    {
        setup.called = PartyNumber::unknown(d);
    }
    if setup.calling.is_none()
        && let Some(d) = first_dialed(s.source_address.as_ref())
    {
        let mut n = PartyNumber::unknown(d);
        n.presentation = s.presentation_indicator.as_ref().and_then(presentation_of);
        n.screening = s.screening_indicator.and_then(screening_of);
        if n.is_restricted() {
            setup.display_name = None;
        }
        setup.calling = Some(n);
    }
}

/// The call identifier a message carries, whatever its body.
fn call_id_of(info: &H323UserInformation) -> Option<CallIdentifier> {
    match &info.h323_uu_pdu.h323_message_body {
        Body::setup(b) => b.call_identifier.clone(),
        Body::callProceeding(b) => b.call_identifier.clone(),
        Body::connect(b) => b.call_identifier.clone(),
        Body::alerting(b) => b.call_identifier.clone(),
        Body::information(b) => b.call_identifier.clone(),
        Body::releaseComplete(b) => b.call_identifier.clone(),
        Body::facility(b) => b.call_identifier.clone(),
        Body::progress(b) => Some(b.call_identifier.clone()),
        Body::status(b) => Some(b.call_identifier.clone()),
        Body::statusInquiry(b) => Some(b.call_identifier.clone()),
        _ => None,
    }
}

/// The `fastStart` elements and `fastConnectRefused` of a message body.
fn fast_start_of(body: &Body) -> (Option<Vec<&[u8]>>, bool) {
    let (list, refused) = match body {
        Body::callProceeding(b) => (b.fast_start.as_ref(), b.fast_connect_refused.is_some()),
        Body::alerting(b) => (b.fast_start.as_ref(), b.fast_connect_refused.is_some()),
        Body::progress(b) => (b.fast_start.as_ref(), b.fast_connect_refused.is_some()),
        Body::connect(b) => (b.fast_start.as_ref(), b.fast_connect_refused.is_some()),
        Body::facility(b) => (b.fast_start.as_ref(), b.fast_connect_refused.is_some()),
        Body::information(b) => (b.fast_start.as_ref(), b.fast_connect_refused.is_some()),
        _ => (None, false),
    };
    (list.map(|l| l.iter().map(|e| &e[..]).collect()), refused)
}

fn is_response(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::CALL_PROCEEDING
            | MessageType::ALERTING
            | MessageType::PROGRESS
            | MessageType::CONNECT
            | MessageType::SETUP_ACKNOWLEDGE
    )
}

fn local_cause(value: Q850Cause) -> Cause {
    Cause {
        value,
        location: Location::PRIVATE_LOCAL,
    }
}

/// Adds `info` to `msg` and queues the TPKT frame on `conn`.
fn push_frame(
    out: &mut VecDeque<H323Output>,
    conn: ConnId,
    mut msg: Message,
    info: &H323UserInformation,
) {
    let label = uuie::body_name(&info.h323_uu_pdu.h323_message_body);
    if let Err(e) = uuie::attach(&mut msg, info) {
        // Only a value outside its ASN.1 constraints fails; the Q.931 part still says
        // what the message is.
        warn!(error = %e, label, "H.225.0 User-user element not encoded");
    }
    out.push_back(H323Output::Transmit {
        conn,
        bytes: tpkt(&msg.encode()),
        label,
    });
}

/// Sends `msg` with `body` on the leg's connection, carrying the tunnelled H.245 that
/// waits when tunnelling may be used.
fn transmit(out: &mut VecDeque<H323Output>, leg: &mut Leg, msg: Message, body: Body) {
    let Some(conn) = leg.conn else {
        return;
    };
    // H.245 that waits goes first (H.323 §8.5: endSessionCommand before RELEASE COMPLETE).
    flush_link(out, leg);
    let mut info = user_information(body, leg.tunnelling);
    if leg.may_tunnel() {
        let control: Vec<_> = std::iter::from_fn(|| leg.h245.poll_transmit())
            .map(Into::into)
            .collect();
        if !control.is_empty() {
            info.h323_uu_pdu.h245_control = Some(control);
        }
    }
    push_frame(out, conn, msg, &info);
}

/// A Facility-UUIE for the leg's call with `reason` and, for `startH245`, our H.245
/// address.
fn facility_body(leg: &Leg, reason: FacilityReason, h245: Option<SocketAddr>) -> Body {
    let mut f = FacilityUUIE::new(
        protocol_identifier_v7(),
        None,
        None,
        Some(leg.conference_id.clone()),
        reason,
        Some(leg.call_id.clone()),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        Some(false),
        Some(false),
        None,
        None,
        None,
        None,
        None,
        None,
    );
    f.h245_address = h245.map(h225_address);
    Body::facility(f)
}

/// Sends what H.245 waits on the leg's separate H.245 connection, when it is up.
fn flush_link(out: &mut VecDeque<H323Output>, leg: &mut Leg) {
    if let H245Link::Up(conn) = leg.link {
        while let Some(b) = leg.h245.poll_transmit() {
            out.push_back(H323Output::H245Transmit {
                conn,
                label: h245_label(&b),
                bytes: tpkt(&b),
            });
        }
    }
}

/// Puts our H.245 address in a response body (H.225.0: `h245Address` of CallProceeding,
/// Alerting, Progress and Connect).
fn set_h245_address(body: &mut Body, a: SocketAddr) {
    let a = Some(h225_address(a));
    match body {
        Body::callProceeding(b) => b.h245_address = a,
        Body::alerting(b) => b.h245_address = a,
        Body::progress(b) => b.h245_address = a,
        Body::connect(b) => b.h245_address = a,
        _ => {}
    }
}

fn release_complete_body(call_id: Option<CallIdentifier>, cause: Option<Q850Cause>) -> Body {
    Body::releaseComplete(ReleaseCompleteUUIE::new(
        protocol_identifier_v7(),
        cause.and_then(reason_for_cause),
        call_id,
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
    ))
}

impl Default for H323Calls {
    fn default() -> Self {
        H323Calls::new(0)
    }
}

impl H323Calls {
    /// No legs yet; `seed` drives call references, call and conference identifiers and
    /// H.245 determination numbers (tests pass a fixed one, the shell a random one).
    pub fn new(seed: u64) -> Self {
        H323Calls {
            legs: HashMap::new(),
            by_ref: HashMap::new(),
            conns: HashMap::new(),
            h245_conns: HashMap::new(),
            touched: Vec::new(),
            abandoned: HashSet::new(),
            undialled: HashSet::new(),
            rng: seed,
            next_leg: 0,
            inbound: H323Options::default(),
            timer_values: TimerValues::default(),
            out: VecDeque::new(),
        }
    }

    /// Options for incoming calls (default: fast start and tunnelling accepted).
    pub fn set_inbound_options(&mut self, opts: H323Options) {
        self.inbound = opts;
    }

    /// Timer durations (default: [`TimerValues::default`]); applies to timers started
    /// from now on.
    pub fn set_timer_values(&mut self, values: TimerValues) {
        self.timer_values = values;
    }

    /// Live legs.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    /// True when there are no legs.
    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }

    /// The H.225.0 call identifier of a leg (for CDRs and logs).
    pub fn call_identifier(&self, leg: H323LegId) -> Option<[u8; 16]> {
        let l = self.legs.get(&leg)?;
        <[u8; 16]>::try_from(&l.call_id.guid.0[..]).ok()
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<H323Output> {
        self.out.pop_front()
    }

    /// The earliest timer deadline of any leg.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.legs
            .values()
            .flat_map(|l| {
                l.timers
                    .iter()
                    .flatten()
                    .copied()
                    .chain(l.h245.poll_timeout())
                    .chain(l.h245_wait)
            })
            .min()
    }

    fn next_u64(&mut self) -> u64 {
        splitmix(&mut self.rng)
    }

    fn guid(&mut self) -> [u8; 16] {
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        g[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        g
    }

    fn alloc(&mut self) -> H323LegId {
        self.next_leg += 1;
        H323LegId(self.next_leg)
    }

    /// An inbound TCP connection was accepted.
    pub fn connection_opened(&mut self, conn: ConnId, peer: SocketAddr) {
        debug!(conn, %peer, "H.225.0 connection opened");
        self.conns.entry(conn).or_default();
    }

    /// A connection closed (by the peer or on error): its calls end with cause 41
    /// "temporary failure" (Q.931 §5.8.9 spirit: the signalling link is gone), cleared
    /// by the far side.
    pub fn connection_closed(&mut self, _now: Instant, conn: ConnId) {
        let mut ids: Vec<H323LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.conn == Some(conn))
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        for id in ids {
            if let Some(l) = self.legs.get(&id) {
                let initiator = l.peer_side();
                self.event(
                    id,
                    CallEvent::Release(Release {
                        cause: local_cause(Q850Cause::TEMPORARY_FAILURE),
                        initiator,
                        sip_status: None,
                    }),
                );
            }
            self.finish(id, false);
        }
        self.conns.remove(&conn);
    }

    fn event(&mut self, leg: H323LegId, event: CallEvent) {
        self.out.push_back(H323Output::Event { leg, event });
    }

    /// Forgets a leg: `Gone`, and `Close` of its connection when no call is left on it
    /// and `close` is asked (it is not when the connection is already gone).
    fn finish(&mut self, id: H323LegId, close: bool) {
        let Some(mut leg) = self.legs.remove(&id) else {
            return;
        };
        match leg.link {
            H245Link::Up(c) => {
                flush_link(&mut self.out, &mut leg);
                self.h245_conns.remove(&c);
                self.out.push_back(H323Output::Close { conn: c });
            }
            H245Link::Listening(_) => self
                .out
                .push_back(H323Output::H245StopListening { leg: id }),
            H245Link::None | H245Link::Connecting | H245Link::Closed => {}
        }
        self.out.push_back(H323Output::Gone { leg: id });
        let Some(conn) = leg.conn else {
            return;
        };
        self.by_ref
            .remove(&(conn, leg.crv, leg.dir == Dir::Outgoing));
        let left = self.conns.get_mut(&conn).map(|c| {
            c.calls = c.calls.saturating_sub(1);
            c.calls
        });
        if close && left.unwrap_or(0) == 0 {
            self.conns.remove(&conn);
            self.out.push_back(H323Output::Close { conn });
        }
    }

    /// Clears a leg from this side: RELEASE COMPLETE with `to_peer` (when given and
    /// connected), `Release` toward the call core with `to_core`, initiator Gateway.
    fn fail(&mut self, id: H323LegId, to_peer: Option<Q850Cause>, to_core: Q850Cause) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if let Some(cause) = to_peer {
            leg.h245.end_session();
            let msg =
                Message::release_complete(Dialect::H225, leg.call_ref(), Some(local_cause(cause)));
            let body = release_complete_body(Some(leg.call_id.clone()), Some(cause));
            transmit(&mut self.out, leg, msg, body);
        }
        self.event(
            id,
            CallEvent::Release(Release {
                cause: local_cause(to_core),
                initiator: Initiator::Gateway,
                sip_status: None,
            }),
        );
        self.finish(id, true);
    }

    // ---------------------------------------------------------------- outgoing legs

    /// How `leg` sends DTMF (the call core sets it from the leg's trunk).
    pub fn set_dtmf_form(&mut self, leg: H323LegId, form: DtmfForm) {
        if let Some(l) = self.legs.get_mut(&leg) {
            l.dtmf = form;
        }
    }

    /// Starts an outgoing call to `addr`: emits `Connect`; the Setup goes out once the
    /// shell reports [`connected`](Self::connected). `setup.media`, when given, is our
    /// offer (RTP address and codecs): fast start proposals, or our side of slow start.
    pub fn outgoing(
        &mut self,
        _now: Instant,
        addr: SocketAddr,
        setup: &Setup,
        opts: H323Options,
    ) -> H323LegId {
        let id = self.alloc();
        // Q.931 §4.3: a call reference value of our own, 1..=32767 (0 is global).
        let crv = (self.next_u64() % 0x7FFF) as u16 + 1;
        let call_id = call_identifier(self.guid());
        let conference_id = conference_identifier(self.guid());
        let seed = self.next_u64();
        self.legs.insert(
            id,
            Leg {
                dir: Dir::Outgoing,
                dtmf: DtmfForm::default(),
                state: State::Connecting,
                conn: None,
                crv,
                opts,
                call_id,
                conference_id,
                tunnelling: opts.tunnelling,
                tunnel_decided: false,
                h245: H245Control::new(seed),
                fast: Fast::Off,
                local: None,
                local_from_offer: true,
                pending_answer: None,
                setup: Some(Box::new(setup.clone())),
                timers: [None; 3],
                h245_wait: None,
                link: H245Link::None,
                h245_address_sent: false,
            },
        );
        self.out.push_back(H323Output::Connect { leg: id, addr });
        id
    }

    /// The ingress trunk of an incoming leg does not tunnel (`h245_tunnelling: false`):
    /// before our first response, tunnelling is refused (our messages say
    /// `h245Tunnelling` FALSE) and H.245 moves to a connection of its own.
    pub fn refuse_tunnelling(&mut self, leg: H323LegId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.dir != Dir::Incoming || l.state != State::CallPresent || !l.tunnelling {
            return;
        }
        l.tunnelling = false;
        if !matches!(l.fast, Fast::Offered(_)) {
            self.listen_h245(leg);
        }
    }

    /// An outgoing call that waits for admission (a gatekeeper's ARQ) before it connects:
    /// like [`outgoing`](Self::outgoing) without the `Connect`; [`dial`](Self::dial) or
    /// [`not_admitted`](Self::not_admitted) follows.
    pub fn outgoing_pending(
        &mut self,
        now: Instant,
        setup: &Setup,
        opts: H323Options,
    ) -> H323LegId {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        let id = self.outgoing(now, unspecified, setup, opts);
        // Take back the Connect `outgoing` queued.
        if let Some(i) = self
            .out
            .iter()
            .rposition(|o| matches!(o, H323Output::Connect { leg, .. } if *leg == id))
        {
            self.out.remove(i);
        }
        self.undialled.insert(id);
        id
    }

    /// The call identifier, conference identifier and call reference value of a leg,
    /// for its ARQ.
    pub fn admission_ids(&self, leg: H323LegId) -> Option<([u8; 16], [u8; 16], u16)> {
        let l = self.legs.get(&leg)?;
        let call = <[u8; 16]>::try_from(&l.call_id.guid.0[..]).ok()?;
        let conf = <[u8; 16]>::try_from(&l.conference_id.0.0[..]).ok()?;
        Some((call, conf, l.crv))
    }

    /// Admission granted: connect to `addr` (the ACF's `destCallSignalAddress`).
    pub fn dial(&mut self, _now: Instant, leg: H323LegId, addr: SocketAddr) {
        if self.undialled.remove(&leg) && self.legs.contains_key(&leg) {
            self.out.push_back(H323Output::Connect { leg, addr });
        }
    }

    /// Admission refused: the leg fails with `cause` (initiator Gateway), nothing sent.
    pub fn not_admitted(&mut self, _now: Instant, leg: H323LegId, cause: Q850Cause) {
        if self.undialled.remove(&leg) && self.legs.contains_key(&leg) {
            self.fail(leg, None, cause);
        }
    }

    /// The TCP connection of an outgoing leg is up: the Setup goes out, T303 starts.
    pub fn connected(&mut self, now: Instant, leg: H323LegId, conn: ConnId) {
        if self.abandoned.remove(&leg) || !self.legs.contains_key(&leg) {
            // Released while connecting: nothing to say on this connection.
            self.out.push_back(H323Output::Close { conn });
            return;
        }
        self.conns.entry(conn).or_default().calls += 1;
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        l.conn = Some(conn);
        self.by_ref.insert((conn, l.crv, true), leg);
        self.send_setup(now, leg);
    }

    /// The TCP connection of an outgoing leg failed: `Release` cause 38 "network out of
    /// order", initiator Gateway.
    pub fn connect_failed(&mut self, _now: Instant, leg: H323LegId) {
        if self.abandoned.remove(&leg) {
            return;
        }
        if self.legs.contains_key(&leg) {
            self.fail(leg, None, Q850Cause::NETWORK_OUT_OF_ORDER);
        }
    }

    fn send_setup(&mut self, now: Instant, id: H323LegId) {
        let t303 = self.timer_values.t303;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(setup) = leg.setup.clone() else {
            return;
        };
        let msg = match translate::from_event(&CallEvent::Setup(setup.clone()), &leg.ctx()) {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                debug!(error = %e, "Setup does not fit Q.931");
                let cause = e.cause();
                self.fail(id, None, cause);
                return;
            }
        };
        let mut s = setup_uuie(
            gateway_endpoint(),
            leg.conference_id.clone(),
            leg.call_id.clone(),
        );
        s.source_call_signal_address = Some(h225_address(leg.opts.local));
        s.destination_address = digits_alias(&setup.called.digits).map(|a| vec![a]);
        if let Some(calling) = &setup.calling {
            if !calling.is_restricted() {
                s.source_address = digits_alias(&calling.digits).map(|a| vec![a]);
            }
            s.presentation_indicator = calling.presentation.and_then(presentation_indicator);
            s.screening_indicator = calling.screening.and_then(screening_indicator);
        }
        if let Some(m) = &setup.media {
            leg.learn_local(&MediaExchange::Offer(m.clone()));
            if leg.opts.fast_start {
                let proposals = fast_start::propose(m, 1);
                if !proposals.is_empty() {
                    s.fast_start = Some(proposals.into_iter().map(Into::into).collect());
                    leg.fast = Fast::Proposed;
                }
            }
        }
        if leg.fast == Fast::Off {
            leg.h245.enable_slow_start();
        }
        leg.state = State::CallInitiated;
        leg.set_timer(Timer::T303, Some(now + t303));
        transmit(&mut self.out, leg, msg, Body::setup(s));
    }

    // ---------------------------------------------------------------- input

    /// One TPKT payload (a Q.931 message) received on `conn`.
    pub fn handle_frame(&mut self, now: Instant, conn: ConnId, payload: &[u8]) {
        self.frame_input(now, conn, payload);
        self.arm(now);
    }

    fn frame_input(&mut self, now: Instant, conn: ConnId, payload: &[u8]) {
        let msg = match Message::decode(payload, Dialect::H225) {
            Ok(m) => m,
            Err(e) => {
                // Q.931 §5.8.1/§5.8.2: too short, or another protocol: ignored.
                debug!(conn, error = %e, "H.225.0 message does not decode");
                self.out.push_back(H323Output::DecodeError { conn });
                return;
            }
        };
        let info = match uuie::decode(&msg) {
            Ok(i) => Ok(i),
            Err(e) => {
                if e != UuieError::Missing {
                    debug!(conn, error = %e, "H.225.0 User-user element does not decode");
                    self.out.push_back(H323Output::DecodeError { conn });
                }
                Err(e)
            }
        };
        // H.225.0 call references are two octets; the dummy and the global one carry no
        // call (Q.931 §4.3, §5.8.3.1).
        if msg.call_ref.octets() != 2 || msg.call_ref.is_global() {
            return;
        }
        let crv = (msg.call_ref.value() & 0x7FFF) as u16;
        let ours = msg.call_ref.flag();
        match self.by_ref.get(&(conn, crv, ours)).copied() {
            Some(id) => self.on_message(now, id, &msg, info.ok().as_ref()),
            None => self.unknown_call(conn, &msg, info),
        }
    }

    /// A message for no call of ours (Q.931 §5.8.3.2).
    fn unknown_call(
        &mut self,
        conn: ConnId,
        msg: &Message,
        info: Result<H323UserInformation, UuieError>,
    ) {
        let call_id = info.as_ref().ok().and_then(call_id_of);
        match msg.msg_type {
            MessageType::SETUP if !msg.call_ref.flag() => self.incoming_setup(conn, msg, info),
            // A SETUP "to the originator" (flag 1) or a RELEASE COMPLETE: ignored.
            MessageType::SETUP | MessageType::RELEASE_COMPLETE => {}
            // §5.8.3.2: STATUS with call state Null, cause 30.
            MessageType::STATUS_ENQUIRY => {
                let call_id = call_id.unwrap_or_else(|| call_identifier([0; 16]));
                self.send_status(conn, msg.call_ref.reply(), CallStateValue::NULL, call_id);
            }
            // §5.8.3.2 with §5.8.11: a STATUS naming a state other than Null is
            // answered with RELEASE COMPLETE cause 101.
            MessageType::STATUS => {
                let state = msg.get::<CallState>().and_then(Result::ok);
                if state.is_some_and(|s| s.state != CallStateValue::NULL) {
                    self.reject(
                        conn,
                        msg,
                        Q850Cause::MESSAGE_NOT_COMPATIBLE_WITH_STATE,
                        call_id,
                    );
                }
            }
            // §5.8.3.2: cause 81 "invalid call reference value".
            _ => self.reject(conn, msg, Q850Cause::INVALID_CALL_REFERENCE, call_id),
        }
    }

    /// RELEASE COMPLETE with `cause` for the call `to` names, answering it.
    fn reject(
        &mut self,
        conn: ConnId,
        to: &Message,
        cause: Q850Cause,
        call_id: Option<CallIdentifier>,
    ) {
        let msg =
            Message::release_complete(Dialect::H225, to.call_ref.reply(), Some(local_cause(cause)));
        let info = user_information(release_complete_body(call_id, Some(cause)), false);
        push_frame(&mut self.out, conn, msg, &info);
    }

    /// STATUS (Q.931 §5.8.10): Cause 30 "response to STATUS ENQUIRY" and our call state.
    fn send_status(
        &mut self,
        conn: ConnId,
        call_ref: CallReference,
        state: CallStateValue,
        call_id: CallIdentifier,
    ) {
        let mut msg = Message::new(Dialect::H225, call_ref, MessageType::STATUS);
        // Two-octet elements always fit.
        let _ = msg.set(&CauseIe::new(local_cause(
            Q850Cause::RESPONSE_TO_STATUS_ENQUIRY,
        )));
        let _ = msg.set(&CallState::new(state));
        let body = Body::status(StatusUUIE::new(
            protocol_identifier_v7(),
            call_id,
            None,
            None,
        ));
        push_frame(&mut self.out, conn, msg, &user_information(body, false));
    }

    fn incoming_setup(
        &mut self,
        conn: ConnId,
        msg: &Message,
        info: Result<H323UserInformation, UuieError>,
    ) {
        let call_id = info.as_ref().ok().and_then(call_id_of);
        let refuse = |this: &mut Self, cause: Q850Cause| {
            this.reject(conn, msg, cause, call_id.clone());
            if this.conns.get(&conn).is_none_or(|c| c.calls == 0) {
                this.conns.remove(&conn);
                this.out.push_back(H323Output::Close { conn });
            }
        };
        // Q.931 §5.8.6.1 / §5.8.6.2: mandatory elements missing (96) or invalid (100).
        if let Err(v) = msg.validate() {
            refuse(self, v.cause());
            return;
        }
        let info = match info {
            Ok(i) => i,
            Err(UuieError::Missing) => return refuse(self, Q850Cause::MANDATORY_IE_MISSING),
            Err(_) => return refuse(self, Q850Cause::INVALID_IE_CONTENTS),
        };
        let Body::setup(s) = &info.h323_uu_pdu.h323_message_body else {
            return refuse(self, Q850Cause::INVALID_IE_CONTENTS);
        };
        let mut setup = match translate::to_event(msg, Initiator::Caller) {
            Ok(Some(CallEvent::Setup(setup))) => setup,
            Ok(_) => return refuse(self, Q850Cause::INVALID_IE_CONTENTS),
            Err(e) => return refuse(self, e.cause()),
        };
        augment_setup(&mut setup, s);
        let opts = self.inbound;
        let tunnelling = opts.tunnelling && info.h323_uu_pdu.h245_tunnelling == Some(true);
        let (fast, offer) = match s.fast_start.as_ref() {
            Some(list) if opts.fast_start => {
                let proposals = Proposals::parse(list);
                match proposals.offer() {
                    Some(offer) => (Fast::Offered(proposals), Some(offer)),
                    // Nothing we can use (video only, unknown codecs): refused.
                    None => (Fast::RefusePending, None),
                }
            }
            Some(_) => (Fast::RefusePending, None),
            None => (Fast::Off, None),
        };
        setup.media = offer;
        let id = self.alloc();
        let crv = (msg.call_ref.value() & 0x7FFF) as u16;
        let call_id = s
            .call_identifier
            .clone()
            .unwrap_or_else(|| call_identifier([0; 16]));
        let seed = self.next_u64();
        let mut leg = Leg {
            dir: Dir::Incoming,
            dtmf: DtmfForm::default(),
            state: State::CallPresent,
            conn: Some(conn),
            crv,
            opts,
            call_id,
            conference_id: s.conference_id.clone(),
            tunnelling,
            tunnel_decided: true,
            h245: H245Control::new(seed),
            fast,
            local: None,
            local_from_offer: false,
            pending_answer: None,
            setup: None,
            timers: [None; 3],
            h245_wait: None,
            link: H245Link::None,
            h245_address_sent: false,
        };
        if !matches!(leg.fast, Fast::Offered(_)) {
            leg.h245.enable_slow_start();
        }
        let separate = !leg.tunnelling;
        let peer_h245 = h245_address_of(&info.h323_uu_pdu.h323_message_body);
        let listen = separate && peer_h245.is_none() && !matches!(leg.fast, Fast::Offered(_));
        self.legs.insert(id, leg);
        self.by_ref.insert((conn, crv, false), id);
        self.conns.entry(conn).or_default().calls += 1;
        self.out.push_back(H323Output::Incoming {
            leg: id,
            conn,
            setup,
        });
        // Tunnelled H.245 in the Setup ("parallel H.245"): answered with our first
        // response. An h245Address in it is connected to (early H.245).
        self.common(id, &info);
        if listen {
            // Slow start without tunnelling: we listen, our first response (or a
            // Facility startH245) names the address.
            self.listen_h245(id);
        }
        self.after(id);
    }

    // ---------------------------------------------------------------- separate H.245

    /// Asks the shell for a listening H.245 socket for `id`, once.
    fn listen_h245(&mut self, id: H323LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(conn) = leg.conn.filter(|_| leg.link == H245Link::None) else {
            return;
        };
        leg.link = H245Link::Listening(None);
        self.out.push_back(H323Output::H245Listen {
            leg: id,
            conn,
            ip: leg.opts.local.ip(),
        });
    }

    /// The peer named its H.245 address: connect, unless we listen with an address
    /// already sent that is the smaller of the two (H.323 §8.2.3: when both sides send
    /// startH245, the side with the numerically smaller address connects).
    fn peer_h245_address(&mut self, id: H323LegId, theirs: SocketAddr) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        match leg.link {
            H245Link::None => {}
            H245Link::Listening(ours) => {
                if let Some(ours) = ours
                    && leg.h245_address_sent
                    && address_key(ours) > address_key(theirs)
                {
                    return;
                }
                self.out
                    .push_back(H323Output::H245StopListening { leg: id });
            }
            H245Link::Connecting | H245Link::Up(_) | H245Link::Closed => return,
        }
        leg.link = H245Link::Connecting;
        self.out.push_back(H323Output::H245Connect {
            leg: id,
            addr: theirs,
        });
    }

    /// The shell listens for `leg`'s H.245 connection at `addr`: the address goes in our
    /// first response, or in a Facility startH245 when one has gone already.
    pub fn h245_listening(&mut self, _now: Instant, leg: H323LegId, addr: SocketAddr) {
        let Some(l) = self.legs.get_mut(&leg) else {
            self.out.push_back(H323Output::H245StopListening { leg });
            return;
        };
        if l.link != H245Link::Listening(None) {
            return;
        }
        l.link = H245Link::Listening(Some(addr));
        if l.dir == Dir::Incoming && l.state == State::CallPresent {
            return;
        }
        l.h245_address_sent = true;
        let msg = Message::new(Dialect::H225, l.call_ref(), MessageType::FACILITY);
        let body = facility_body(l, FacilityReason::startH245(()), Some(addr));
        transmit(&mut self.out, l, msg, body);
    }

    /// `leg`'s H.245 connection is up on `conn` (accepted or connected): H.245 starts on
    /// it (our TerminalCapabilitySet and master/slave determination). A second
    /// connection for the same leg is closed.
    pub fn h245_up(&mut self, now: Instant, leg: H323LegId, conn: ConnId) {
        self.link_up(leg, conn);
        self.arm(now);
    }

    fn link_up(&mut self, leg: H323LegId, conn: ConnId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            self.out.push_back(H323Output::Close { conn });
            return;
        };
        match l.link {
            H245Link::Up(_) | H245Link::Closed | H245Link::None => {
                self.out.push_back(H323Output::Close { conn });
                return;
            }
            H245Link::Listening(_) => self.out.push_back(H323Output::H245StopListening { leg }),
            H245Link::Connecting => {}
        }
        debug!(%leg, conn, "separate H.245 connection up");
        l.link = H245Link::Up(conn);
        self.h245_conns.insert(conn, leg);
        let prefs = l.codec_prefs();
        l.h245.start(&prefs);
        self.after(leg);
    }

    /// Listening or connecting for `leg`'s H.245 failed: the call goes on without it.
    pub fn h245_failed(&mut self, _now: Instant, leg: H323LegId) {
        if let Some(l) = self.legs.get_mut(&leg)
            && matches!(l.link, H245Link::Listening(_) | H245Link::Connecting)
        {
            warn!(%leg, "separate H.245 connection could not be made");
            l.link = H245Link::Closed;
        }
    }

    /// One TPKT payload (an H.245 message) on a separate H.245 connection.
    pub fn handle_h245_frame(&mut self, now: Instant, conn: ConnId, payload: &[u8]) {
        self.link_frame(conn, payload);
        self.arm(now);
    }

    fn link_frame(&mut self, conn: ConnId, payload: &[u8]) {
        let Some(id) = self.h245_conns.get(&conn).copied() else {
            return;
        };
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.h245.handle(payload);
        }
        self.after(id);
    }

    /// A separate H.245 connection closed: the call goes on (the peer clears it with
    /// RELEASE COMPLETE, H.323 §8.5).
    pub fn h245_closed(&mut self, _now: Instant, conn: ConnId) {
        let Some(id) = self.h245_conns.remove(&conn) else {
            return;
        };
        if let Some(l) = self.legs.get_mut(&id)
            && l.link == H245Link::Up(conn)
        {
            debug!(leg = %id, "separate H.245 connection closed");
            l.link = H245Link::Closed;
        }
    }

    /// What every message of a known call may carry: tunnelled H.245, fast start
    /// answers, a request for a separate H.245 connection.
    fn common(&mut self, id: H323LegId, info: &H323UserInformation) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let body = &info.h323_uu_pdu.h323_message_body;
        if leg.dir == Dir::Outgoing {
            let (elements, refused) = fast_start_of(body);
            if leg.fast == Fast::Proposed {
                let answer = elements.and_then(|e| {
                    fast_start::answer_of(&e, leg.setup.as_ref().and_then(|s| s.media.as_ref()))
                });
                if let Some(answer) = answer {
                    leg.fast = Fast::Accepted;
                    if leg.state == State::Active {
                        self.out.push_back(H323Output::Event {
                            leg: id,
                            event: CallEvent::Media(MediaExchange::Answer(answer)),
                        });
                    } else {
                        leg.pending_answer = Some(answer);
                    }
                } else if refused {
                    leg.fast = Fast::Refused;
                    leg.h245.enable_slow_start();
                }
            }
        }
        if leg.tunnelling {
            for m in info.h323_uu_pdu.h245_control.iter().flatten() {
                leg.h245.handle(m);
            }
        } else if leg.dir == Dir::Incoming || leg.tunnel_decided {
            if let Some(theirs) = h245_address_of(body) {
                self.peer_h245_address(id, theirs);
            }
        }
    }

    /// After any input on a leg: H.245 events become call events, and tunnelled H.245
    /// still waiting goes out in a FACILITY (H.225.0 §8.2.1).
    fn after(&mut self, id: H323LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        self.touched.push(id);
        let mut give_up = false;
        while let Some(ev) = leg.h245.poll_event() {
            match ev {
                H245Event::Media(m) => match leg.dir {
                    Dir::Outgoing if leg.state == State::Active => {
                        self.out.push_back(H323Output::Event {
                            leg: id,
                            event: CallEvent::Media(MediaExchange::Answer(m)),
                        });
                    }
                    Dir::Outgoing => leg.pending_answer = Some(m),
                    Dir::Incoming => {
                        let m = if leg.local_from_offer {
                            MediaExchange::Answer(m)
                        } else {
                            MediaExchange::Offer(m)
                        };
                        self.out.push_back(H323Output::Event {
                            leg: id,
                            event: CallEvent::Media(m),
                        });
                    }
                },
                H245Event::Dtmf { digit, duration_ms } => {
                    self.out.push_back(H323Output::Event {
                        leg: id,
                        event: CallEvent::Info(Info::Dtmf { digit, duration_ms }),
                    });
                }
                H245Event::EndSession => debug!(leg = %id, "peer ended the H.245 session"),
                H245Event::Paused => self.out.push_back(H323Output::Event {
                    leg: id,
                    event: CallEvent::Hold,
                }),
                H245Event::Resumed => self.out.push_back(H323Output::Event {
                    leg: id,
                    event: CallEvent::Resume,
                }),
                H245Event::DecodeError => {
                    if let Some(conn) = leg.conn {
                        self.out.push_back(H323Output::DecodeError { conn });
                    }
                }
                H245Event::Timeout(t) => {
                    warn!(leg = %id, timer = t.name(), "H.245 procedure timed out");
                    self.out.push_back(H323Output::H245Timeout {
                        leg: id,
                        timer: t.name(),
                    });
                    // Slow start without its media will never carry audio: clear the
                    // call. With fast start H.245 is an extra, and the call goes on.
                    if leg.h245.slow_start() && !leg.h245.media_done() {
                        give_up = true;
                    }
                }
            }
        }
        if leg.may_tunnel() && leg.h245.has_transmit() {
            let msg = Message::new(Dialect::H225, leg.call_ref(), MessageType::FACILITY);
            let body = facility_body(leg, FacilityReason::transportedInformation(()), None);
            transmit(&mut self.out, leg, msg, body);
        }
        flush_link(&mut self.out, leg);
        if give_up {
            self.fail(
                id,
                Some(Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
                Q850Cause::RECOVERY_ON_TIMER_EXPIRY,
            );
        }
    }

    /// Gives the H.245 timers started by this input their deadlines.
    fn arm(&mut self, now: Instant) {
        for id in std::mem::take(&mut self.touched) {
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.h245.arm(now);
                if matches!(leg.link, H245Link::Listening(_) | H245Link::Connecting) {
                    leg.h245_wait.get_or_insert(now + H245_CONNECT_WAIT);
                } else {
                    leg.h245_wait = None;
                }
            }
        }
    }

    /// A message for a known leg.
    fn on_message(
        &mut self,
        now: Instant,
        id: H323LegId,
        msg: &Message,
        info: Option<&H323UserInformation>,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let sender = leg.peer_side();
        // H.225.0 §8.2.1: the callee's first response says whether it tunnels.
        if leg.dir == Dir::Outgoing && !leg.tunnel_decided && is_response(msg.msg_type) {
            leg.tunnel_decided = true;
            leg.tunnelling = leg.opts.tunnelling
                && info.is_some_and(|i| i.h323_uu_pdu.h245_tunnelling == Some(true));
            if leg.tunnelling {
                let prefs = leg.codec_prefs();
                leg.h245.start(&prefs);
            }
        }
        if let Some(info) = info {
            self.common(id, info);
        }
        // Slow start answers that completed with this message go with its event.
        self.after_h245_media_only(id);
        match msg.msg_type {
            MessageType::RELEASE_COMPLETE => {
                let cause = msg
                    .cause()
                    .or_else(|| {
                        info.and_then(|i| match &i.h323_uu_pdu.h323_message_body {
                            Body::releaseComplete(rc) => rc.reason.as_ref().map(|r| Cause {
                                value: cause_of_reason(r),
                                location: Location::USER,
                            }),
                            _ => None,
                        })
                    })
                    .unwrap_or(Cause::NORMAL);
                self.event(
                    id,
                    CallEvent::Release(Release {
                        cause,
                        initiator: sender,
                        sip_status: None,
                    }),
                );
                self.finish(id, true);
                return;
            }
            MessageType::STATUS_ENQUIRY => {
                if let Some(leg) = self.legs.get(&id)
                    && let Some(conn) = leg.conn
                {
                    let (call_ref, state, call_id) =
                        (leg.call_ref(), leg.state.q931(), leg.call_id.clone());
                    self.send_status(conn, call_ref, state, call_id);
                }
            }
            MessageType::STATUS => {
                // §5.8.11: the peer has no such call any more: clear.
                let state = msg.get::<CallState>().and_then(Result::ok);
                if state.is_some_and(|s| s.state == CallStateValue::NULL) {
                    self.event(
                        id,
                        CallEvent::Release(Release {
                            cause: local_cause(Q850Cause::MESSAGE_NOT_COMPATIBLE_WITH_STATE),
                            initiator: sender,
                            sip_status: None,
                        }),
                    );
                    self.finish(id, true);
                    return;
                }
            }
            MessageType::INFORMATION => {
                if let Ok(Some(ev @ CallEvent::Info(_))) = translate::to_event(msg, sender) {
                    self.event(id, ev);
                }
            }
            t if is_response(t) => self.response(now, id, msg, sender),
            _ => {}
        }
        self.after(id);
    }

    /// Only the slow start media of the H.245 events, so that it can ride on the event of
    /// the message being handled; the rest waits for [`after`](Self::after).
    fn after_h245_media_only(&mut self, id: H323LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.dir != Dir::Outgoing || leg.state == State::Active {
            return;
        }
        if let Some(m) = leg.h245.take_media() {
            leg.pending_answer = Some(m);
        }
    }

    /// CALL PROCEEDING, SETUP ACKNOWLEDGE, ALERTING, PROGRESS, CONNECT on an outgoing leg.
    fn response(&mut self, now: Instant, id: H323LegId, msg: &Message, sender: Initiator) {
        let values = self.timer_values;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.dir != Dir::Outgoing {
            // A caller does not send these (Q.931 §5.8.4); ignored.
            return;
        }
        let Ok(Some(mut event)) = translate::to_event(msg, sender) else {
            // SETUP ACKNOWLEDGE has no event of its own: like CALL PROCEEDING here.
            if msg.msg_type == MessageType::SETUP_ACKNOWLEDGE && leg.state == State::CallInitiated {
                leg.state = State::OutgoingProceeding;
                leg.set_timer(Timer::T303, None);
                leg.set_timer(Timer::T310, Some(now + values.t310));
                self.event(id, CallEvent::Proceeding);
            }
            return;
        };
        match &mut event {
            CallEvent::Proceeding => {
                if leg.state != State::CallInitiated {
                    return;
                }
                leg.state = State::OutgoingProceeding;
                leg.set_timer(Timer::T303, None);
                leg.set_timer(Timer::T310, Some(now + values.t310));
            }
            CallEvent::Alerting(p) => {
                if !matches!(leg.state, State::CallInitiated | State::OutgoingProceeding) {
                    return;
                }
                leg.state = State::CallDelivered;
                leg.set_timer(Timer::T303, None);
                leg.set_timer(Timer::T310, None);
                leg.set_timer(Timer::T301, Some(now + values.t301));
                p.media = leg.pending_answer.take().map(MediaExchange::Answer);
            }
            CallEvent::Progress(p) => {
                if leg.state == State::Active {
                    return;
                }
                leg.set_timer(Timer::T303, None);
                leg.set_timer(Timer::T310, None);
                p.media = leg.pending_answer.take().map(MediaExchange::Answer);
            }
            CallEvent::Connect { media, .. } => {
                if leg.state == State::Active {
                    return;
                }
                leg.state = State::Active;
                leg.timers = [None; 3];
                // H.323 §8.1.7: no fastStart up to CONNECT refuses fast connect.
                if leg.fast == Fast::Proposed {
                    leg.fast = Fast::Refused;
                    leg.h245.enable_slow_start();
                }
                let listen = !leg.tunnelling && !matches!(leg.fast, Fast::Accepted);
                *media = leg.pending_answer.take().map(MediaExchange::Answer);
                if listen {
                    // No fast start and no tunnelling, and the callee named no H.245
                    // address: we offer ours in a Facility startH245 (H.225.0 §8.2.3).
                    self.listen_h245(id);
                }
            }
            _ => return,
        }
        self.event(id, event);
    }

    // ---------------------------------------------------------------- from the call core

    /// A call event from the call core for `leg`: on incoming legs Proceeding, Alerting,
    /// Progress and Connect answer the Setup; Release clears either kind; Info(Dtmf) goes
    /// as H.245 UserInputIndication (or Q.931 keypad without H.245); Media names our RTP
    /// address for slow start. Other events are ignored.
    pub fn send(&mut self, now: Instant, leg: H323LegId, event: CallEvent) {
        self.core_event(leg, event);
        self.arm(now);
    }

    fn core_event(&mut self, leg: H323LegId, event: CallEvent) {
        let Some(dir) = self.legs.get(&leg).map(|l| l.dir) else {
            return;
        };
        match (dir, event) {
            (_, CallEvent::Release(r)) => {
                self.release(leg, &r);
                return;
            }
            (
                Dir::Incoming,
                e @ (CallEvent::Proceeding
                | CallEvent::Alerting(_)
                | CallEvent::Progress(_)
                | CallEvent::Connect { .. }),
            ) => self.answer(leg, e),
            (_, CallEvent::Media(m)) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.learn_local(&m);
                }
            }
            (_, CallEvent::Info(Info::Dtmf { digit, duration_ms })) => {
                let sent = self.legs.get_mut(&leg).is_some_and(|l| {
                    let signal = match l.dtmf {
                        DtmfForm::Keypad => return false,
                        DtmfForm::Alphanumeric => None,
                        // A signal needs a duration; an unknown one is sent as 100 ms.
                        DtmfForm::Signal => Some(match duration_ms {
                            0 => 100,
                            d => u16::try_from(d).unwrap_or(u16::MAX),
                        }),
                    };
                    (l.tunnelling || matches!(l.link, H245Link::Up(_)))
                        && l.h245.user_input_as(digit, signal)
                });
                if !sent {
                    self.information(leg, &CallEvent::Info(Info::Dtmf { digit, duration_ms }));
                }
            }
            (Dir::Outgoing, e @ CallEvent::Info(Info::Digits(_))) => self.information(leg, &e),
            // The other leg holds or resumes: H.323 §8.4.6 third-party-initiated pause
            // (an empty TerminalCapabilitySet), then the full set again.
            (_, CallEvent::Hold) => {
                if let Some(l) = self.legs.get_mut(&leg)
                    && (l.tunnelling || matches!(l.link, H245Link::Up(_)))
                    && !l.h245.pause()
                {
                    debug!(leg = %leg, "hold not signalled: no H.245 session");
                }
            }
            (_, CallEvent::Resume) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.h245.resume();
                }
            }
            _ => {}
        }
        self.after(leg);
    }

    /// Q.931 INFORMATION (keypad or called number) with an Information-UUIE.
    fn information(&mut self, id: H323LegId, event: &CallEvent) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.state == State::Connecting {
            return;
        }
        let Ok(Some(msg)) = translate::from_event(event, &leg.ctx()) else {
            return;
        };
        let body = Body::information(InformationUUIE::new(
            protocol_identifier_v7(),
            Some(leg.call_id.clone()),
            None,
            None,
            None,
            None,
            None,
        ));
        transmit(&mut self.out, leg, msg, body);
    }

    /// The call core releases a leg: RELEASE COMPLETE (Cause element and, where one fits,
    /// the UUIE reason; endSessionCommand tunnelled when H.245 runs), then Close.
    fn release(&mut self, id: H323LegId, r: &Release) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if self.undialled.remove(&id) {
            // Still waiting for admission: no connection asked for.
            self.finish(id, false);
            return;
        }
        if leg.conn.is_none() {
            // Still connecting: the connection is closed when it comes up.
            self.abandoned.insert(id);
            self.finish(id, false);
            return;
        }
        if leg.tunnelling || matches!(leg.link, H245Link::Up(_)) {
            leg.h245.end_session();
        }
        let msg = Message::release_complete(Dialect::H225, leg.call_ref(), Some(r.cause));
        let body = release_complete_body(Some(leg.call_id.clone()), Some(r.cause.value));
        // The RELEASE COMPLETE itself carries what H.245 waits (H.323 §8.5).
        transmit(&mut self.out, leg, msg, body);
        self.finish(id, true);
    }

    /// CALL PROCEEDING, ALERTING, PROGRESS or CONNECT on an incoming leg.
    fn answer(&mut self, id: H323LegId, event: CallEvent) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let media = match &event {
            CallEvent::Alerting(p) | CallEvent::Progress(p) => p.media.clone(),
            CallEvent::Connect { media, .. } => media.clone(),
            _ => None,
        };
        let ok = match &event {
            CallEvent::Proceeding => leg.state == State::CallPresent,
            CallEvent::Alerting(_) => {
                matches!(leg.state, State::CallPresent | State::IncomingProceeding)
            }
            _ => leg.state != State::Active,
        };
        if !ok {
            if let Some(m) = &media {
                leg.learn_local(m);
            }
            return;
        }
        if let Some(m) = &media {
            leg.learn_local(m);
        }
        // Fast connect answer, once (H.323 §8.1.7): the proposals that fit the call
        // core's answer; a CONNECT without one refuses.
        let mut fast_start = None;
        let mut refused = None;
        let is_connect = matches!(event, CallEvent::Connect { .. });
        match &leg.fast {
            Fast::Offered(p) => match &media {
                Some(MediaExchange::Answer(m)) => match p.accept(m) {
                    Some(acc) => {
                        fast_start = Some(acc.elements);
                        leg.fast = Fast::Accepted;
                    }
                    None => {
                        refused = Some(());
                        leg.fast = Fast::Refused;
                        leg.h245.enable_slow_start();
                    }
                },
                _ if is_connect => {
                    refused = Some(());
                    leg.fast = Fast::Refused;
                    leg.h245.enable_slow_start();
                }
                _ => {}
            },
            Fast::RefusePending => {
                refused = Some(());
                leg.fast = Fast::Refused;
            }
            _ => {}
        }
        let fast_start: Option<Vec<_>> =
            fast_start.map(|e| e.into_iter().map(Into::into).collect());
        // Alerting with early media: progress description 8 (Q.931 §4.5.23) so the caller
        // plays what comes rather than local ringback.
        let event = match event {
            CallEvent::Alerting(mut p) => {
                if p.media.is_some() && !p.inband_available() {
                    p.descriptions.push(ProgressDescription::INBAND_AVAILABLE);
                }
                CallEvent::Alerting(p)
            }
            e => e,
        };
        let msg = match translate::from_event(&event, &leg.ctx()) {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                debug!(error = %e, "response does not fit Q.931");
                return;
            }
        };
        let body = match &event {
            CallEvent::Proceeding => {
                leg.state = State::IncomingProceeding;
                Body::callProceeding(CallProceedingUUIE::new(
                    protocol_identifier_v7(),
                    gateway_endpoint(),
                    None,
                    Some(leg.call_id.clone()),
                    None,
                    None,
                    None,
                    fast_start,
                    Some(false),
                    Some(false),
                    refused,
                    None,
                ))
            }
            CallEvent::Alerting(_) => {
                leg.state = State::CallReceived;
                Body::alerting(AlertingUUIE::new(
                    protocol_identifier_v7(),
                    gateway_endpoint(),
                    None,
                    Some(leg.call_id.clone()),
                    None,
                    None,
                    None,
                    fast_start,
                    Some(false),
                    Some(false),
                    None,
                    None,
                    None,
                    refused,
                    None,
                    None,
                    None,
                    None,
                ))
            }
            CallEvent::Progress(_) => {
                if leg.state == State::CallPresent {
                    leg.state = State::IncomingProceeding;
                }
                Body::progress(ProgressUUIE::new(
                    protocol_identifier_v7(),
                    gateway_endpoint(),
                    None,
                    leg.call_id.clone(),
                    None,
                    None,
                    None,
                    fast_start,
                    Some(false),
                    Some(false),
                    refused,
                ))
            }
            CallEvent::Connect { .. } => {
                leg.state = State::Active;
                Body::connect(ConnectUUIE::new(
                    protocol_identifier_v7(),
                    None,
                    gateway_endpoint(),
                    leg.conference_id.clone(),
                    Some(leg.call_id.clone()),
                    None,
                    None,
                    None,
                    fast_start,
                    Some(false),
                    Some(false),
                    None,
                    None,
                    None,
                    None,
                    refused,
                    None,
                    None,
                    None,
                    None,
                ))
            }
            _ => return,
        };
        let mut body = body;
        if let H245Link::Listening(Some(a)) = leg.link
            && !leg.h245_address_sent
        {
            set_h245_address(&mut body, a);
            leg.h245_address_sent = true;
        }
        // Our first response opens tunnelled H.245 (H.225.0 §8.2.1): TCS and MSD ride on it.
        if leg.tunnelling && !leg.h245.is_started() {
            let prefs = leg.codec_prefs();
            leg.h245.start(&prefs);
        }
        let listen = is_connect && !leg.tunnelling && !matches!(leg.fast, Fast::Accepted);
        transmit(&mut self.out, leg, msg, body);
        if listen {
            // Connected with neither fast start nor tunnelling: media needs H.245 on a
            // connection of its own; our address follows in a Facility startH245.
            self.listen_h245(id);
        }
    }

    // ---------------------------------------------------------------- timers

    /// Runs the timers that are due: each clears its call (see [`Timer`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due: Vec<(Instant, H323LegId, Timer)> = Vec::new();
        for (id, leg) in &self.legs {
            for t in Timer::ALL {
                if let Some(at) = leg.timers[t.index()]
                    && at <= now
                {
                    due.push((at, *id, t));
                }
            }
        }
        due.sort();
        for (_, id, t) in due {
            let Some(leg) = self.legs.get_mut(&id) else {
                continue;
            };
            if leg.timers[t.index()].is_none() {
                continue;
            }
            leg.timers[t.index()] = None;
            debug!(leg = %id, timer = ?t, "Q.931 timer expired");
            let to_core = match t {
                Timer::T303 | Timer::T310 => Q850Cause::RECOVERY_ON_TIMER_EXPIRY,
                Timer::T301 => Q850Cause::NO_ANSWER,
            };
            self.fail(id, Some(Q850Cause::RECOVERY_ON_TIMER_EXPIRY), to_core);
        }
        // The separate H.245 connection never came.
        let mut waited: Vec<H323LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.h245_wait.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        waited.sort();
        for id in waited {
            let Some(leg) = self.legs.get_mut(&id) else {
                continue;
            };
            leg.h245_wait = None;
            if !matches!(leg.link, H245Link::Listening(_) | H245Link::Connecting) {
                continue;
            }
            if matches!(leg.link, H245Link::Listening(_)) {
                self.out
                    .push_back(H323Output::H245StopListening { leg: id });
            }
            leg.link = H245Link::Closed;
            warn!(leg = %id, "separate H.245 connection did not come up");
            self.out.push_back(H323Output::H245Timeout {
                leg: id,
                timer: "connect",
            });
            if leg.fast != Fast::Accepted && !leg.h245.media_done() {
                self.fail(
                    id,
                    Some(Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
                    Q850Cause::RECOVERY_ON_TIMER_EXPIRY,
                );
            }
        }
        let mut h245_due: Vec<H323LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.h245.poll_timeout().is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        h245_due.sort();
        for id in h245_due {
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.h245.handle_timeout(now);
            }
            self.after(id);
        }
        self.arm(now);
    }
}

#[cfg(test)]
mod tests;
