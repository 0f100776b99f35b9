//! The record of one call attempt, as the call core closes it (the CDR writer and
//! RADIUS accounting turn it into their formats).

use mapping::cause::Cause;
use mapping::model::Initiator;
use std::time::SystemTime;

/// RTP figures of one direction (what arrived from one party), from the relay's RFC 3550
/// statistics, and of that party's leg, from RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DirectionStats {
    /// Packets received.
    pub packets: u64,
    /// RTP payload octets received (RFC 3550 §6.4.1 sender octet count's sense).
    pub octets: u64,
    /// Packets lost (RFC 3550 §6.4.1 cumulative).
    pub lost: i64,
    /// Interarrival jitter in milliseconds.
    pub jitter_ms: u32,
    /// Round trip between the gateway and this party, mean over the call (RFC 3550
    /// §6.4.1, from its reports on the SRs we relayed or sent); `None` without one.
    pub rtt_ms: Option<u32>,
    /// The largest round trip measured.
    pub rtt_max_ms: Option<u32>,
    /// Packets this party reports lost of the stream we send it (its newest report).
    pub remote_lost: Option<i64>,
    /// Interarrival jitter this party reports on the stream we send it, in milliseconds.
    pub remote_jitter_ms: Option<u32>,
    /// Estimated MOS of this party's audio as the other party hears it (ITU-T G.107
    /// E-model, simplified: `media::quality`).
    pub mos: Option<f64>,
}

/// Media figures of a call: side A is the caller's, side B the callee's.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MediaFigures {
    /// What arrived from the caller.
    pub from_caller: DirectionStats,
    /// What arrived from the callee (or nothing, for the built-in endpoint).
    pub from_callee: DirectionStats,
}

/// One call attempt, ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// The switch's call number (unique per process run).
    pub call: u64,
    /// `general.node_name`.
    pub node: String,
    /// Trunk the call came in on.
    pub ingress_trunk: String,
    /// Last trunk it was sent to (None: never routed).
    pub egress_trunk: Option<String>,
    /// The kind of the egress leg (`sip`, `h323`, `tdm`, `local`), as metrics label it.
    pub egress_kind: Option<&'static str>,
    /// The route rule that matched.
    pub rule: Option<String>,
    /// Which egress attempt of the call this is, from 1 (0: the call was never sent
    /// anywhere). A call that fails over has one record per attempt, all with the same
    /// `call`.
    pub attempt: u32,
    /// This attempt failed and the call went on to the next trunk of its route (the
    /// call's last record has `false`).
    pub failed_over: bool,
    /// SIP Call-ID (or H.323 call identifier) of the ingress leg.
    pub ingress_call_id: Option<String>,
    /// Same for the egress leg.
    pub egress_call_id: Option<String>,
    /// Where the ingress leg's signalling came from (h323-remote-address).
    pub ingress_peer: Option<std::net::IpAddr>,
    /// Called number as received.
    pub called_in: String,
    /// Calling number as received.
    pub calling_in: Option<String>,
    /// Called number after manipulation.
    pub called_out: Option<String>,
    /// Calling number after manipulation.
    pub calling_out: Option<String>,
    /// When the call came in.
    pub start: SystemTime,
    /// When it was answered.
    pub answer: Option<SystemTime>,
    /// When it ended.
    pub end: SystemTime,
    /// Milliseconds from the call coming in to its end or answer, as measured by the
    /// monotonic clock.
    pub setup_ms: u64,
    /// Q.850 cause.
    pub cause: Cause,
    /// Who cleared.
    pub initiator: Initiator,
    /// The SIP status behind the release, when there was one.
    pub sip_status: Option<u16>,
    /// Codec on the caller's side.
    pub codec: Option<String>,
    /// RTP figures, filled in by the shell when the media stops.
    pub media: Option<MediaFigures>,
}

impl CallRecord {
    /// Billable seconds (answer to end), 0 when unanswered.
    pub fn billable_seconds(&self) -> u64 {
        self.answer
            .and_then(|a| self.end.duration_since(a).ok())
            .map_or(0, |d| d.as_secs())
    }
}
