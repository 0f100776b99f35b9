//! `kind: h323` trunks: an H.323 gateway or a gatekeeper zone.

use crate::config::digits::DigitString;
use crate::config::host_port::HostPort;
use crate::config::media::Codec;
use serde::Deserialize;

/// An H.323 peer: called directly at `remote`, or through `gatekeeper`, or both (admission
/// by ARQ while registered with the gatekeeper, direct to `remote` while not).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct H323Trunk {
    /// The peer's H.225.0 call-signalling address, `"host:1720"`. Required without a
    /// gatekeeper.
    #[serde(default)]
    pub remote: Option<HostPort>,
    /// Register with a gatekeeper and route calls through it (admission by ARQ).
    #[serde(default)]
    pub gatekeeper: Option<Gatekeeper>,
    /// Offer fast start (media proposals in Setup). Default true.
    #[serde(default = "yes")]
    pub fast_start: bool,
    /// Tunnel H.245 in H.225.0 messages instead of a separate TCP connection.
    /// Default true.
    #[serde(default = "yes")]
    pub h245_tunnelling: bool,
    /// How DTMF is sent: `h245-alphanumeric`, `h245-signal` (UserInputIndication),
    /// `rfc4733` (RTP events) or `q931-keypad` (Information with keypad facility).
    /// Default `h245-alphanumeric`.
    #[serde(default)]
    pub dtmf: H323Dtmf,
    /// Codecs for this trunk, most preferred first; absent: `media.codecs`.
    #[serde(default)]
    pub codecs: Option<Vec<Codec>>,
}

fn yes() -> bool {
    true
}

/// `gatekeeper:` registration with an H.323 gatekeeper (RAS).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gatekeeper {
    /// The gatekeeper's RAS address, `"host:1719"`.
    pub address: HostPort,
    /// The gatekeeper identifier to ask for in GRQ/RRQ; absent: any.
    #[serde(default)]
    pub gatekeeper_id: Option<String>,
    /// h323-ID aliases registered for this gateway.
    #[serde(default)]
    pub h323_ids: Vec<String>,
    /// E.164 (dialedDigits) aliases registered for this gateway, quoted.
    #[serde(default)]
    pub e164: Vec<DigitString>,
    /// Registration time-to-live asked for, in seconds (lightweight RRQ before it runs
    /// out). Default 300.
    #[serde(default = "default_ttl")]
    pub time_to_live_seconds: u32,
}

fn default_ttl() -> u32 {
    300
}

/// How DTMF crosses an H.323 trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum H323Dtmf {
    /// H.245 UserInputIndication alphanumeric.
    #[default]
    H245Alphanumeric,
    /// H.245 UserInputIndication signal (with duration).
    H245Signal,
    /// RFC 4733 telephone-event RTP packets.
    Rfc4733,
    /// Q.931 Information messages with a keypad facility IE.
    Q931Keypad,
}
