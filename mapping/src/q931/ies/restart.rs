//! Restart indicator, Q.931 §4.5.25 (Figure 4-30, Table 4-23).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

crate::wire_enum! {
    /// Restart class, octet 3 bits 3-1.
    pub struct RestartClass(u8) {
        /// The channels in the Channel identification element.
        INDICATED_CHANNELS = 0 => "indicated-channels",
        /// The single interface.
        SINGLE_INTERFACE = 6 => "single-interface",
        /// All interfaces.
        ALL_INTERFACES = 7 => "all-interfaces",
    }
}

/// Restart indicator element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestartIndicator(pub RestartClass);

impl IeCodec for RestartIndicator {
    const ID: IeId = IeId::RESTART_INDICATOR;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        if o3 & 0xF8 != 0x80 {
            return Err(o.invalid("octet 3 extension or spare bits"));
        }
        o.end()?;
        Ok(RestartIndicator(RestartClass(o3 & 0x07)))
    }

    fn encode(&self) -> InfoElement {
        InfoElement::variable(Self::ID.0, vec![0x80 | (self.0.0 & 0x07)])
    }
}
