//! `media:` RTP ports, codec preference and packetisation.

use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::fmt;

/// A codec name as written in SDP (`a=rtpmap`) and in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Codec {
    /// G.711 A-law (the E1 timeslot format).
    #[serde(rename = "PCMA")]
    Pcma,
    /// G.711 u-law (the T1 timeslot format).
    #[serde(rename = "PCMU")]
    Pcmu,
    /// G.729 (annex A/B interoperable), 8 kbit/s.
    #[serde(rename = "G729")]
    G729,
    /// G.722 wideband.
    #[serde(rename = "G722")]
    G722,
    /// Opus.
    #[serde(rename = "opus")]
    Opus,
    /// Linear 16-bit PCM.
    #[serde(rename = "L16")]
    L16,
    /// RFC 4733 DTMF events (not audio: offered next to the audio codecs).
    #[serde(rename = "telephone-event")]
    TelephoneEvent,
}

impl Codec {
    /// The name used in the configuration and in SDP.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcma => "PCMA",
            Codec::Pcmu => "PCMU",
            Codec::G729 => "G729",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
            Codec::L16 => "L16",
            Codec::TelephoneEvent => "telephone-event",
        }
    }
}

/// `media:` RTP and codecs. The whole section is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// UDP ports for RTP (even) and RTCP (odd, the next one), `"min-max"` inclusive;
    /// `min` is even, 1024 <= min < max <= 65535. Default `"10000-20000"`.
    #[serde(default = "default_rtp_ports")]
    pub rtp_port_range: PortRange,
    /// Codecs offered and accepted, most preferred first, when a trunk names none.
    /// Default `[PCMA, PCMU, telephone-event]`.
    #[serde(default = "default_codecs")]
    pub codecs: Vec<Codec>,
    /// Packetisation time in milliseconds (10-60, a multiple of 10). Default 20.
    #[serde(default = "default_ptime")]
    pub ptime_ms: u32,
}

impl Default for Media {
    fn default() -> Self {
        Media {
            rtp_port_range: default_rtp_ports(),
            codecs: default_codecs(),
            ptime_ms: default_ptime(),
        }
    }
}

fn default_rtp_ports() -> PortRange {
    PortRange {
        min: 10000,
        max: 20000,
    }
}
fn default_codecs() -> Vec<Codec> {
    vec![Codec::Pcma, Codec::Pcmu, Codec::TelephoneEvent]
}
fn default_ptime() -> u32 {
    20
}

/// An inclusive UDP port range for RTP, written `"10000-20000"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port (even).
    pub min: u16,
    /// Last port.
    pub max: u16,
}

impl PortRange {
    /// Parses and checks `"min-max"`.
    pub fn parse(text: &str) -> Result<PortRange, String> {
        let (lo, hi) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}`: expected \"min-max\", e.g. \"10000-20000\""))?;
        let port = |s: &str| {
            s.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{}` is not a port (1-65535)", s.trim()))
        };
        let (min, max) = (port(lo)?, port(hi)?);
        if min < 1024 {
            return Err(format!("{min}: RTP ports start at 1024 or above"));
        }
        if min % 2 != 0 {
            return Err(format!("{min}: the first RTP port must be even"));
        }
        if max <= min {
            return Err(format!("`{text}`: the last port must be above the first"));
        }
        Ok(PortRange { min, max })
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.min..=self.max).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min, self.max)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PortRange, D::Error> {
        let s = String::deserialize(d)?;
        PortRange::parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_even_ordered_and_above_1023() {
        assert_eq!(
            PortRange::parse("10000-20000"),
            Ok(PortRange {
                min: 10000,
                max: 20000
            })
        );
        for bad in [
            "10001-20000",
            "20000-10000",
            "80-1000",
            "10000",
            "10000-70000",
        ] {
            assert!(PortRange::parse(bad).is_err(), "{bad}");
        }
    }
}
