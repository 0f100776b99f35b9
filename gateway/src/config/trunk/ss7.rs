//! `kind: ss7` trunks: ISUP over MTP2/MTP3 signalling links on E1/T1 spans.

use crate::config::channels::ChannelSet;
use serde::Deserialize;

/// An SS7 ISUP trunk toward one destination point code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ss7Trunk {
    /// ISUP and MTP variant: `itu` (Q.767/Q.76x, 14-bit point codes), `ansi` (T1.113,
    /// 24-bit) or `china` (GF 001-9001, 24-bit).
    pub variant: Ss7Variant,
    /// Own (originating) point code, as an integer.
    pub opc: u32,
    /// Far end (destination) point code, as an integer.
    pub dpc: u32,
    /// Network indicator in the SIO. Default `national`.
    #[serde(default)]
    pub network_indicator: NetworkIndicator,
    /// Signalling links of the link set, at least one (16 at most); the link's SLC is its
    /// position in this list.
    pub links: Vec<Ss7Link>,
    /// Voice circuits, at least one group.
    pub circuits: Vec<Ss7Circuits>,
}

/// One MTP2 signalling link: a 64 kbit/s timeslot of a span.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ss7Link {
    /// The span (`spans[].name`).
    pub span: String,
    /// The timeslot carrying the link (E1 1-31, commonly 16; T1 1-24).
    pub timeslot: u16,
}

/// A group of voice circuits on one span.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ss7Circuits {
    /// The span (`spans[].name`).
    pub span: String,
    /// The timeslots carrying circuits, e.g. `"1-15,17-31"`.
    pub timeslots: ChannelSet,
    /// CIC of the first (lowest) timeslot; the following timeslots get the following
    /// CICs (as DAHDI's `cicbeginswith`). CICs must agree with the far end.
    pub first_cic: u16,
}

/// SS7 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ss7Variant {
    /// ITU-T.
    Itu,
    /// ANSI.
    Ansi,
    /// China.
    China,
}

impl Ss7Variant {
    /// Bits in a point code.
    pub fn point_code_bits(self) -> u32 {
        match self {
            Ss7Variant::Itu => 14,
            Ss7Variant::Ansi | Ss7Variant::China => 24,
        }
    }

    /// The largest CIC (ITU and China 12 bits, ANSI 14 bits).
    pub fn max_cic(self) -> u16 {
        match self {
            Ss7Variant::Itu | Ss7Variant::China => 4095,
            Ss7Variant::Ansi => 16383,
        }
    }
}

/// Network indicator (SIO bits D-C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkIndicator {
    /// International network (0).
    International,
    /// International spare (1).
    InternationalSpare,
    /// National network (2).
    #[default]
    National,
    /// National spare (3).
    NationalSpare,
}
