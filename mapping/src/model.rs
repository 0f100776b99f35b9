//! The neutral call model: the only vocabulary two legs share (DESIGN.md "The pivot").
//!
//! It is close to Q.931/ISUP semantics because H.225.0 and PRI *are* Q.931 and ISUP
//! maps onto it. Each leg's adapter turns its protocol into these events and back; no
//! leg ever sees another leg's protocol.

use crate::cause::Cause;
use crate::number::{Digits, PartyNumber};
use std::net::SocketAddr;

/// Which side of a call an event or a release came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// The calling party (ingress leg).
    Caller,
    /// The called party (egress leg).
    Callee,
    /// The gateway itself (timer, routing failure, resource shortage, shutdown).
    Gateway,
}

/// Information transfer capability of the call (Q.931 §4.5.5 octet 3), reduced to what
/// routing and media need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Bearer {
    /// Speech.
    #[default]
    Speech,
    /// 3.1 kHz audio (fax and modems over G.711).
    Audio3k1,
    /// Unrestricted digital information (64 kbit/s clear channel).
    UnrestrictedDigital,
    /// Anything else, by its Q.931 code.
    Other(u8),
}

/// A codec by name, as SDP (RFC 3551 names) and H.245 capabilities both express it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CodecName {
    /// G.711 u-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.729 (Annex A/B interoperable).
    G729,
    /// G.722 (SDP clock rate 8000 by RFC 3551 convention, audio at 16 kHz).
    G722,
    /// G.723.1.
    G7231,
    /// Opus.
    Opus,
    /// Linear 16-bit PCM.
    L16,
    /// RFC 4733 telephone events (DTMF).
    TelephoneEvent,
    /// RFC 3389 comfort noise.
    ComfortNoise,
    /// Anything else, by its encoding name.
    Other(String),
}

/// One codec of a media description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Codec {
    /// Codec name.
    pub name: CodecName,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (1 for telephony).
    pub channels: u8,
    /// RTP payload type on the leg that offered it.
    pub payload_type: u8,
    /// Format parameters (SDP `a=fmtp`), verbatim.
    pub fmtp: Option<String>,
}

/// Direction of a media stream (RFC 3264 §5.1 attributes; H.245 open channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MediaDirection {
    /// Send and receive.
    #[default]
    SendRecv,
    /// Send only (we are holding the other side).
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

/// An audio media description in codec terms, independent of SDP and H.245.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Media {
    /// Where the sender of this description wants RTP (None: not yet known, e.g. an
    /// H.245 slow-start leg before OpenLogicalChannel).
    pub rtp: Option<SocketAddr>,
    /// Where it wants RTCP, when not RTP port + 1.
    pub rtcp: Option<SocketAddr>,
    /// Codecs in order of preference.
    pub codecs: Vec<Codec>,
    /// Packetisation time in milliseconds, if stated.
    pub ptime: Option<u16>,
    /// Stream direction.
    pub direction: MediaDirection,
}

/// Whether a media description opens a negotiation or closes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaExchange {
    /// An offer (SDP offer; H.323 fast-start proposals or a capability set).
    Offer(Media),
    /// An answer (SDP answer; accepted fast-start channels / OLC acks).
    Answer(Media),
}

/// Redirection information (Diversion / History-Info <-> Redirecting number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirection {
    /// The number the call was redirected from.
    pub from: PartyNumber,
    /// Reason for redirection (Q.931 §4.6.? octet 3b / ISUP redirecting reason).
    pub reason: RedirectionReason,
    /// How many times the call has been redirected, when known.
    pub count: Option<u8>,
}

crate::wire_enum! {
    /// Reason for redirection, Q.931 Redirecting number octet 3b / Q.763 §3.45.
    pub struct RedirectionReason(u8) {
        /// Unknown.
        UNKNOWN = 0 => "unknown",
        /// Call forwarding busy.
        BUSY = 1 => "user-busy",
        /// Call forwarding no reply.
        NO_REPLY = 2 => "no-answer",
        /// Call deflection.
        DEFLECTION = 4 => "deflection",
        /// Called DTE out of order.
        OUT_OF_ORDER = 9 => "out-of-service",
        /// Call forwarding by the called DTE.
        BY_CALLED_DTE = 10 => "follow-me",
        /// Call forwarding unconditional.
        UNCONDITIONAL = 15 => "unconditional",
    }
}

/// A new call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The called number (digits dialled so far in overlap sending).
    pub called: PartyNumber,
    /// The calling number, with presentation and screening.
    pub calling: Option<PartyNumber>,
    /// A display name for the caller, when one was given and presentation allows it.
    pub display_name: Option<String>,
    /// Redirection history (most recent first).
    pub redirection: Vec<Redirection>,
    /// Bearer capability.
    pub bearer: Bearer,
    /// Media offered with the setup (SIP early offer, H.323 fast start), if any.
    pub media: Option<Media>,
    /// True when the called number is complete (Sending complete IE; SIP always).
    pub sending_complete: bool,
}

/// Q.931 progress description (§4.5.23 octet 4), as early media needs it.
pub use crate::progress::ProgressDescription;

/// Call progress with possible early media.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// Progress descriptions carried (e.g. 8 "in-band information available").
    pub descriptions: Vec<ProgressDescription>,
    /// Early media offer/answer, if any.
    pub media: Option<MediaExchange>,
}

impl Progress {
    /// True when the far end says in-band tones/announcements are available.
    pub fn inband_available(&self) -> bool {
        self.descriptions.iter().any(|d| {
            matches!(
                *d,
                ProgressDescription::INBAND_AVAILABLE | ProgressDescription::NOT_END_TO_END_ISDN
            )
        })
    }
}

/// Digits or tones sent during a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Info {
    /// More called-party digits (overlap sending).
    Digits(Digits),
    /// A DTMF tone with its duration in milliseconds.
    Dtmf {
        /// The digit (`0-9 * # A-D`).
        digit: char,
        /// Duration in ms (0 when unknown).
        duration_ms: u32,
    },
}

/// A release: the cause and who cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The Q.850 cause.
    pub cause: Cause,
    /// Who cleared the call.
    pub initiator: Initiator,
    /// When a SIP status is behind the release, the status (so a SIP-to-SIP crossing
    /// can keep it exactly rather than going through Q.850).
    pub sip_status: Option<u16>,
}

/// Everything a leg may tell the call core, and the call core may tell a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A new call (INVITE, Setup, IAM, R2 seizure + digits).
    Setup(Box<Setup>),
    /// The far side is working on it (100 Trying, Call Proceeding, ACM without alert).
    Proceeding,
    /// Progress, possibly with early media (183, Progress, ACM with in-band info).
    Progress(Progress),
    /// The called party is being alerted (180, Alerting).
    Alerting(Progress),
    /// Answer (200 OK, Connect, ANM).
    Connect {
        /// The connected party number, when given.
        connected: Option<PartyNumber>,
        /// Media answer (or offer, on a delayed-offer leg).
        media: Option<MediaExchange>,
    },
    /// Digits or DTMF during the call.
    Info(Info),
    /// The far side puts the call on hold.
    Hold,
    /// The far side resumes the call.
    Resume,
    /// A media offer or answer outside setup (re-INVITE, capability change).
    Media(MediaExchange),
    /// The call ends.
    Release(Release),
}

impl CallEvent {
    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            CallEvent::Setup(_) => "setup",
            CallEvent::Proceeding => "proceeding",
            CallEvent::Progress(_) => "progress",
            CallEvent::Alerting(_) => "alerting",
            CallEvent::Connect { .. } => "connect",
            CallEvent::Info(_) => "info",
            CallEvent::Hold => "hold",
            CallEvent::Resume => "resume",
            CallEvent::Media(_) => "media",
            CallEvent::Release(_) => "release",
        }
    }
}
