//! `kind: r2` trunks: MFC/R2 (CAS line signalling in TS16, MF register signalling
//! in-band) on an E1 span.

use crate::config::channels::ChannelSet;
use serde::Deserialize;

/// An MFC/R2 trunk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct R2Trunk {
    /// The E1 span (`spans[].name`) it runs on; it needs `cas` or `cas-crc4` framing.
    pub span: String,
    /// Country variant, by ISO 3166 code (`cn`, `br`, `mx`, `ar`, ...) or `itu` for
    /// the ITU-T Q.421/Q.441 baseline.
    pub variant: R2Variant,
    /// Channels used, e.g. `"1-15,17-31"`; default all of them.
    #[serde(default)]
    pub channels: Option<ChannelSet>,
    /// Most calling-number (ANI) digits asked for. Default 10.
    #[serde(default = "default_ani")]
    pub max_ani_digits: u8,
    /// Most called-number (DNIS) digits expected before the call is offered. Default 4.
    #[serde(default = "default_dnis")]
    pub max_dnis_digits: u8,
    /// Calling party category sent on outgoing calls (group II signal). Default
    /// `national-subscriber`.
    #[serde(default)]
    pub category: R2Category,
}

fn default_ani() -> u8 {
    10
}
fn default_dnis() -> u8 {
    4
}

/// MFC/R2 country variants (the baseline is ITU; each country overrides some signals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum R2Variant {
    /// ITU-T baseline.
    Itu,
    /// Argentina.
    Ar,
    /// Brazil.
    Br,
    /// China.
    Cn,
    /// Colombia.
    Co,
    /// Czech Republic.
    Cz,
    /// Ecuador.
    Ec,
    /// Indonesia.
    Id,
    /// Mexico.
    Mx,
    /// Philippines.
    Ph,
    /// Venezuela.
    Ve,
}

/// Calling party category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum R2Category {
    /// National subscriber.
    #[default]
    NationalSubscriber,
    /// National priority subscriber.
    NationalPrioritySubscriber,
    /// International subscriber.
    InternationalSubscriber,
    /// International priority subscriber.
    InternationalPrioritySubscriber,
    /// Collect call.
    CollectCall,
}
