//! `sip:` settings of the SIP stack that are not per trunk.

use serde::Deserialize;

/// `sip:` SIP stack settings. The whole section is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sip {
    /// Transaction timer base values (RFC 3261 §17, Table 4).
    #[serde(default)]
    pub timers: SipTimers,
    /// Largest SIP message accepted, in octets (RFC 3261 §18.1.1 discusses 65535 for
    /// UDP). Larger ones are refused (413 over TCP, dropped over UDP). Default 65535.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Value of the User-Agent and Server headers. Default `trunk-gateway/<version>`.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// Registrar limits for the `users` of SIP trunks (RFC 3261 §10.3).
    #[serde(default)]
    pub registrar: RegistrarLimits,
    /// Messages per second one source IP address may send (a token bucket per address,
    /// refilled at this rate); what a flooding peer sends beyond it is dropped before it
    /// reaches the SIP core, so other peers are served. Default 5000 (a SIP proxy in front
    /// of the gateway sends everything from one address: size it for the proxy).
    #[serde(default = "default_per_source_rate")]
    pub per_source_rate: u32,
    /// Burst a source may send at once above its rate. Default 10000.
    #[serde(default = "default_per_source_burst")]
    pub per_source_burst: u32,
    /// Session timers (RFC 4028) on every SIP call leg.
    #[serde(default)]
    pub session_timer: SessionTimerSettings,
}

/// `sip.session_timer:` the RFC 4028 intervals of our SIP call legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTimerSettings {
    /// Session-Expires we ask for in our INVITEs and pick when a caller names none.
    /// Default 1800 (RFC 4028 §4).
    #[serde(default = "default_session_interval")]
    pub interval_seconds: u32,
    /// Min-SE: the shortest interval accepted (a smaller Session-Expires gets 422).
    /// At least 90 (RFC 4028 §4). Default 90.
    #[serde(default = "default_min_se")]
    pub min_se_seconds: u32,
}

impl Default for SessionTimerSettings {
    fn default() -> Self {
        SessionTimerSettings {
            interval_seconds: default_session_interval(),
            min_se_seconds: default_min_se(),
        }
    }
}

fn default_session_interval() -> u32 {
    1800
}
fn default_min_se() -> u32 {
    90
}

fn default_per_source_rate() -> u32 {
    5000
}
fn default_per_source_burst() -> u32 {
    10000
}

impl Default for Sip {
    fn default() -> Self {
        Sip {
            timers: SipTimers::default(),
            max_message_bytes: default_max_message(),
            user_agent: default_user_agent(),
            registrar: RegistrarLimits::default(),
            per_source_rate: default_per_source_rate(),
            per_source_burst: default_per_source_burst(),
            session_timer: SessionTimerSettings::default(),
        }
    }
}

fn default_max_message() -> usize {
    65535
}
fn default_user_agent() -> String {
    format!("trunk-gateway/{}", env!("CARGO_PKG_VERSION"))
}

/// `sip.timers:` RFC 3261 T1, T2, T4 in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipTimers {
    /// T1, the round-trip estimate. Default 500.
    #[serde(default = "t1")]
    pub t1_ms: u64,
    /// T2, the retransmission interval cap. Default 4000.
    #[serde(default = "t2")]
    pub t2_ms: u64,
    /// T4, how long a message may stay in the network. Default 5000.
    #[serde(default = "t4")]
    pub t4_ms: u64,
}

impl Default for SipTimers {
    fn default() -> Self {
        SipTimers {
            t1_ms: t1(),
            t2_ms: t2(),
            t4_ms: t4(),
        }
    }
}

fn t1() -> u64 {
    500
}
fn t2() -> u64 {
    4000
}
fn t4() -> u64 {
    5000
}

/// `sip.registrar:` limits of registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarLimits {
    /// Expiry granted when the REGISTER names none. Default 3600.
    #[serde(default = "default_expires")]
    pub default_expires_seconds: u32,
    /// Shortest expiry accepted (423 Interval Too Brief below). Default 60.
    #[serde(default = "min_expires")]
    pub min_expires_seconds: u32,
    /// Longest expiry granted. Default 7200.
    #[serde(default = "max_expires")]
    pub max_expires_seconds: u32,
    /// Most contacts per user. Default 10.
    #[serde(default = "max_contacts")]
    pub max_contacts: usize,
    /// How long a digest nonce stays fresh, in seconds. Default 300.
    #[serde(default = "nonce_lifetime")]
    pub nonce_lifetime_seconds: u64,
}

impl Default for RegistrarLimits {
    fn default() -> Self {
        RegistrarLimits {
            default_expires_seconds: default_expires(),
            min_expires_seconds: min_expires(),
            max_expires_seconds: max_expires(),
            max_contacts: max_contacts(),
            nonce_lifetime_seconds: nonce_lifetime(),
        }
    }
}

fn default_expires() -> u32 {
    3600
}
fn min_expires() -> u32 {
    60
}
fn max_expires() -> u32 {
    7200
}
fn max_contacts() -> usize {
    10
}
fn nonce_lifetime() -> u64 {
    300
}
