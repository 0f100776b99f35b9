//! `kind: pri` trunks: ISDN PRI (Q.921/Q.931) on an E1/T1 span.

use crate::config::channels::ChannelSet;
use serde::Deserialize;

/// An ISDN primary-rate trunk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriTrunk {
    /// The span (`spans[].name`) it runs on; its D-channel is timeslot 16 (E1) or
    /// channel 24 (T1). The span needs `ccs` or `ccs-crc4` framing (E1) or `esf`/`d4` (T1).
    pub span: String,
    /// Which side of the interface this box takes: `network` (toward a PBX, as the
    /// exchange would) or `user` (toward the exchange, as a PBX would).
    pub side: PriSide,
    /// Switch variant: `euroisdn` (ETSI), `ni2` (North America) or `qsig` (private
    /// networks).
    pub switch: PriSwitch,
    /// B-channels used, e.g. `"1-15,17-31"`; default all B-channels of the span.
    #[serde(default)]
    pub channels: Option<ChannelSet>,
    /// Audio companding on the B-channels: `alaw` or `ulaw`; default `alaw` on E1,
    /// `ulaw` on T1.
    #[serde(default)]
    pub law: Option<Law>,
    /// Overlap dialling: send and accept the called number digit by digit
    /// (Information messages) instead of en bloc. Default false.
    #[serde(default)]
    pub overlap: bool,
}

/// PRI side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriSide {
    /// Network side (NT).
    Network,
    /// User side (TE).
    User,
}

/// PRI switch variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriSwitch {
    /// ETSI EuroISDN (EN 300 403).
    Euroisdn,
    /// National ISDN 2.
    Ni2,
    /// QSIG basic call (ECMA-143).
    Qsig,
}

/// G.711 companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Law {
    /// A-law (Europe, E1).
    Alaw,
    /// u-law (North America, Japan, T1).
    Ulaw,
}
