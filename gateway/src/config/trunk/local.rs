//! `kind: local` trunks: the gateway's built-in endpoint. Calls routed to it are
//! answered (or refused) by the gateway itself — a tone to listen to, an echo to talk
//! to, or a refusal with a chosen cause — for commissioning, monitoring and tests.

use crate::config::egress::FailoverCause;
use serde::Deserialize;

/// The built-in endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalTrunk {
    /// What it does with a call: `tone` (answer and play `tone_hz`), `echo` (answer and
    /// send back what it hears) or `refuse` (release with `cause`). Default `tone`.
    #[serde(default)]
    pub answer: LocalAnswer,
    /// Frequency of the tone, in Hz (300–3400). Default 1000.
    #[serde(default = "default_tone")]
    pub tone_hz: u32,
    /// Ring this long (Alerting, 180) before answering or refusing. Default 0.
    #[serde(default)]
    pub ring_ms: u32,
    /// Play the tone as early media (183 with SDP, Progress) while ringing. Default false.
    #[serde(default)]
    pub early_media: bool,
    /// The Q.850 cause of `answer: refuse`. Default 17 (user busy).
    #[serde(default = "default_cause")]
    pub cause: FailoverCause,
}

/// What the built-in endpoint does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalAnswer {
    /// Answer and play a tone.
    #[default]
    Tone,
    /// Answer and echo the caller's audio.
    Echo,
    /// Release with the configured cause.
    Refuse,
}

fn default_tone() -> u32 {
    1000
}

fn default_cause() -> FailoverCause {
    FailoverCause(mapping::cause::Q850Cause::USER_BUSY)
}
