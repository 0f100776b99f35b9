//! `spans:` the physical E1/T1 lines that PRI, SS7 and R2 trunks run on.

use super::channels::ChannelSet;
use super::collect::collect;
use super::error::Problem;
use super::path::FieldPath;
use super::report::Report;
use super::tagged::{take, take_tag};
use serde::Deserialize;
use serde_yaml::Value;
use std::net::SocketAddr;
use std::path::PathBuf;

/// One E1 or T1 span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Unique name, referenced by trunks (`span:`).
    pub name: String,
    /// `e1` (32 timeslots: TS0 framing, TS16 signalling, 30 bearers) or `t1`
    /// (24 channels).
    pub line: SpanType,
    /// Framing: E1 `ccs`, `ccs-crc4` (PRI, SS7), `cas`, `cas-crc4` (R2); T1 `esf`, `d4`.
    /// Default `ccs-crc4` (E1) or `esf` (T1).
    pub framing: Framing,
    /// Line code: E1 `hdb3` or `ami`; T1 `b8zs` or `ami`. Default `hdb3` (E1) or
    /// `b8zs` (T1).
    pub line_code: LineCode,
    /// Clock source: `line` (recovered from the far end, the usual choice toward an
    /// exchange) or `internal` (this box is the clock master, toward a PBX that
    /// takes its clock from the line).
    pub clock: ClockSource,
    /// The driver that moves the span's bits.
    pub driver: SpanDriver,
}

impl Span {
    /// Timeslots that can carry calls or signalling: E1 1-31, T1 1-24.
    pub fn timeslots(&self) -> std::ops::RangeInclusive<u16> {
        match self.line {
            SpanType::E1 => 1..=31,
            SpanType::T1 => 1..=24,
        }
    }

    /// The D-channel / signalling timeslot: E1 16, T1 24.
    pub fn signalling_timeslot(&self) -> u16 {
        match self.line {
            SpanType::E1 => 16,
            SpanType::T1 => 24,
        }
    }

    /// The timeslots that can be B-channels: every one but the signalling timeslot;
    /// on a DAHDI span with `bearers`, those of its bearer channels.
    pub fn bearer_timeslots(&self) -> Vec<u16> {
        if let SpanDriver::Dahdi(d) = &self.driver
            && let Some(b) = &d.bearers
        {
            return b
                .numbers()
                .iter()
                .filter_map(|&c| d.timeslot_of(self, c))
                .collect();
        }
        let d = self.signalling_timeslot();
        self.timeslots().filter(|t| *t != d).collect()
    }
}

/// E1 or T1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanType {
    /// 2.048 Mbit/s, 32 timeslots.
    E1,
    /// 1.544 Mbit/s, 24 channels.
    T1,
}

/// Framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// E1, common-channel signalling in TS16, no CRC-4.
    Ccs,
    /// E1, common-channel signalling, CRC-4 multiframe.
    CcsCrc4,
    /// E1, channel-associated signalling (ABCD bits) in TS16, no CRC-4.
    Cas,
    /// E1, channel-associated signalling, CRC-4 multiframe.
    CasCrc4,
    /// T1 extended superframe.
    Esf,
    /// T1 superframe (D4).
    D4,
}

impl Framing {
    /// Whether the framing belongs to `line`.
    pub fn fits(self, line: SpanType) -> bool {
        match self {
            Framing::Ccs | Framing::CcsCrc4 | Framing::Cas | Framing::CasCrc4 => {
                line == SpanType::E1
            }
            Framing::Esf | Framing::D4 => line == SpanType::T1,
        }
    }

    /// Whether TS16 carries CAS (R2) rather than a D-channel or SS7 link.
    pub fn is_cas(self) -> bool {
        matches!(self, Framing::Cas | Framing::CasCrc4)
    }

    /// The name used in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Ccs => "ccs",
            Framing::CcsCrc4 => "ccs-crc4",
            Framing::Cas => "cas",
            Framing::CasCrc4 => "cas-crc4",
            Framing::Esf => "esf",
            Framing::D4 => "d4",
        }
    }
}

/// Line code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineCode {
    /// E1 HDB3.
    Hdb3,
    /// AMI (E1 or T1).
    Ami,
    /// T1 B8ZS.
    B8zs,
}

/// Clock source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockSource {
    /// Recovered from the received signal.
    #[default]
    Line,
    /// Generated locally.
    Internal,
}

/// The span driver (`driver: {kind: ..., ...}`).
#[derive(Debug, Clone, PartialEq)]
pub enum SpanDriver {
    /// `kind: dahdi`: a DAHDI card (Linux).
    Dahdi(DahdiDriver),
    /// `kind: pseudowire`: TDM over IP toward an E1/T1-to-Ethernet device.
    Pseudowire(PseudowireDriver),
    /// `kind: test`: an in-memory span on a unix socket, for tests and simulated PBXes.
    Test(TestDriver),
}

/// A DAHDI span. DAHDI (`/etc/dahdi/system.conf`, `dahdi_cfg`) sets the card up and
/// numbers the channels of all spans in one sequence; the gateway opens the channels
/// named here.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DahdiDriver {
    /// DAHDI span number (1-based, as in `/proc/dahdi/N` and `dahdi_scan`): its alarms
    /// are the span's state.
    pub span: u32,
    /// DAHDI channel number of the span's D-channel (`dchan=` or `hardhdlc=` in
    /// system.conf; E1 timeslot 16, T1 channel 24). DAHDI numbers a span's channels
    /// consecutively, so it also places the other timeslots: timeslot `t` is channel
    /// `dchannel - 16 + t` on E1 (`- 24` on T1). Needed for a PRI trunk.
    #[serde(default)]
    pub dchannel: Option<u16>,
    /// DAHDI channel numbers of the bearers (`bchan=` in system.conf), e.g.
    /// `"1-15,17-31"`; default every timeslot of the span but the D-channel's.
    #[serde(default)]
    pub bearers: Option<ChannelSet>,
}

impl DahdiDriver {
    /// The DAHDI channel number of `span`'s timeslot 1, placed by `dchannel`; `None`
    /// without `dchannel` or when it would be below channel 1.
    pub fn first_channel(&self, span: &Span) -> Option<u16> {
        let d = self.dchannel?;
        d.checked_sub(span.signalling_timeslot() - 1)
            .filter(|&f| f >= 1)
    }

    /// The DAHDI channel number of `span`'s timeslot `timeslot`.
    pub fn channel_of(&self, span: &Span, timeslot: u16) -> Option<u16> {
        let first = self.first_channel(span)?;
        span.timeslots()
            .contains(&timeslot)
            .then(|| first + timeslot - 1)
    }

    /// The timeslot of `span` that DAHDI channel `channel` is, if it is on the span.
    pub fn timeslot_of(&self, span: &Span, channel: u16) -> Option<u16> {
        let first = self.first_channel(span)?;
        let t = channel.checked_sub(first)? + 1;
        span.timeslots().contains(&t).then_some(t)
    }
}

/// A TDM-over-IP pseudowire.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudowireDriver {
    /// `satop` (RFC 4553, the whole span unstructured) or `cesopsn` (RFC 5086, selected
    /// timeslots).
    pub protocol: PseudowireProtocol,
    /// Local UDP address the pseudowire is received on.
    pub local: SocketAddr,
    /// The device's UDP address.
    pub remote: SocketAddr,
    /// TDM frames (125 us each) per packet, 1-64. Default 8 (1 ms).
    #[serde(default = "default_frames")]
    pub frames_per_packet: u16,
    /// Jitter buffer depth in milliseconds, 1-100. Default 10.
    #[serde(default = "default_jitter")]
    pub jitter_buffer_ms: u16,
}

fn default_frames() -> u16 {
    8
}
fn default_jitter() -> u16 {
    10
}

/// Pseudowire encapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PseudowireProtocol {
    /// Structure-agnostic TDM over packet, RFC 4553.
    Satop,
    /// Circuit emulation over PSN, RFC 5086.
    Cesopsn,
}

/// A test span.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDriver {
    /// Unix socket path the simulated far end connects to.
    pub socket: PathBuf,
}

/// The span fields other than `driver`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    name: String,
    #[serde(rename = "type")]
    line: SpanType,
    #[serde(default)]
    framing: Option<Framing>,
    #[serde(default)]
    line_code: Option<LineCode>,
    #[serde(default)]
    clock: ClockSource,
}

const DRIVER_KINDS: &[&str] = &["dahdi", "pseudowire", "test"];

/// Reads the span at `path`, reporting every error.
pub(crate) fn load(mut value: Value, path: &FieldPath, report: &mut Report) -> Option<Span> {
    if !value.is_mapping() {
        report.problems.push(Problem::value(
            path.clone(),
            "expected a mapping with `name`, `type` and `driver`",
        ));
        return None;
    }
    let driver_path = path.key("driver");
    let driver = match take(&mut value, "driver") {
        Some(mut d) => match take_tag(&mut d, "kind", DRIVER_KINDS, &driver_path, report) {
            Some("dahdi") => collect(d, &driver_path, report).map(SpanDriver::Dahdi),
            Some("pseudowire") => collect(d, &driver_path, report).map(SpanDriver::Pseudowire),
            Some("test") => collect(d, &driver_path, report).map(SpanDriver::Test),
            // take_tag returns one of DRIVER_KINDS or reports the tag.
            _ => None,
        },
        None => {
            report
                .problems
                .push(Problem::value(driver_path, "missing field `driver`"));
            None
        }
    };
    let f = collect::<Fields>(value, path, report)?;
    let (framing, line_code) = match f.line {
        SpanType::E1 => (Framing::CcsCrc4, LineCode::Hdb3),
        SpanType::T1 => (Framing::Esf, LineCode::B8zs),
    };
    Some(Span {
        name: f.name,
        line: f.line,
        framing: f.framing.unwrap_or(framing),
        line_code: f.line_code.unwrap_or(line_code),
        clock: f.clock,
        driver: driver?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dahdi_span(line: SpanType, dchannel: Option<u16>, bearers: Option<&str>) -> Span {
        Span {
            name: "s".into(),
            line,
            framing: Framing::Ccs,
            line_code: LineCode::Ami,
            clock: ClockSource::Line,
            driver: SpanDriver::Dahdi(DahdiDriver {
                span: 2,
                dchannel,
                bearers: bearers.map(|b| ChannelSet::parse(b).expect("channel set")),
            }),
        }
    }

    fn driver(s: &Span) -> &DahdiDriver {
        match &s.driver {
            SpanDriver::Dahdi(d) => d,
            _ => unreachable!("a DAHDI span"),
        }
    }

    #[test]
    fn dahdi_channels_are_placed_by_the_dchannel() {
        // The second E1 of a card: channels 32-62, D-channel 47.
        let s = dahdi_span(SpanType::E1, Some(47), None);
        let d = driver(&s);
        assert_eq!(d.first_channel(&s), Some(32));
        assert_eq!(d.channel_of(&s, 1), Some(32));
        assert_eq!(d.channel_of(&s, 16), Some(47));
        assert_eq!(d.channel_of(&s, 31), Some(62));
        assert_eq!(d.channel_of(&s, 32), None);
        assert_eq!(d.timeslot_of(&s, 48), Some(17));
        assert_eq!(d.timeslot_of(&s, 31), None);
        assert_eq!(d.timeslot_of(&s, 63), None);
        // A T1 whose D-channel is channel 24.
        let s = dahdi_span(SpanType::T1, Some(24), None);
        assert_eq!(driver(&s).channel_of(&s, 1), Some(1));
        // Channel 10 cannot be timeslot 16.
        let s = dahdi_span(SpanType::E1, Some(10), None);
        assert_eq!(driver(&s).first_channel(&s), None);
        let s = dahdi_span(SpanType::E1, None, None);
        assert_eq!(driver(&s).channel_of(&s, 1), None);
    }

    #[test]
    fn bearer_timeslots_follow_the_dahdi_bearers() {
        let s = dahdi_span(SpanType::E1, Some(47), Some("32-36,48"));
        assert_eq!(s.bearer_timeslots(), vec![1, 2, 3, 4, 5, 17]);
        let s = dahdi_span(SpanType::E1, Some(47), None);
        assert_eq!(s.bearer_timeslots().len(), 30);
        assert!(!s.bearer_timeslots().contains(&16));
    }
}
