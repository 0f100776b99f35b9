//! Cause, Q.931 §4.5.12 and Q.850 §2 (Figure 4-17).

use crate::cause::{Cause, Location, Q850Cause};
use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{CodingStandard, IeCodec, Octets, content_of};

/// Cause element: coding standard, location, optional recommendation (octet 3a), value,
/// diagnostics (octet 5 onwards, raw).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CauseIe {
    /// Octet 3 bits 7-6.
    pub coding_standard: CodingStandard,
    /// Octet 3 bits 4-1.
    pub location: Location,
    /// Octet 3a recommendation (0 = Q.931), when present.
    pub recommendation: Option<u8>,
    /// Octet 4 cause value (7 bits).
    pub value: Q850Cause,
    /// Octets 5 onwards.
    pub diagnostics: Vec<u8>,
}

impl CauseIe {
    /// An ITU-T coded cause without recommendation or diagnostics.
    pub fn new(cause: Cause) -> Self {
        CauseIe {
            coding_standard: CodingStandard::ITU_T,
            location: cause.location,
            recommendation: None,
            value: cause.value,
            diagnostics: Vec::new(),
        }
    }

    /// The call-model cause.
    pub fn cause(&self) -> Cause {
        Cause {
            value: self.value,
            location: self.location,
        }
    }
}

impl From<Cause> for CauseIe {
    fn from(cause: Cause) -> Self {
        CauseIe::new(cause)
    }
}

impl IeCodec for CauseIe {
    const ID: IeId = IeId::CAUSE;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        let recommendation = if o3 & 0x80 == 0 {
            let o3a = o.next()?;
            if o3a & 0x80 == 0 {
                return Err(o.invalid("octet 3a extension"));
            }
            Some(o3a & 0x7F)
        } else {
            None
        };
        let o4 = o.next()?;
        if o4 & 0x80 == 0 {
            return Err(o.invalid("octet 4 extension"));
        }
        Ok(CauseIe {
            coding_standard: CodingStandard((o3 >> 5) & 0x03),
            location: Location(o3 & 0x0F),
            recommendation,
            value: Q850Cause(o4 & 0x7F),
            diagnostics: o.rest().to_vec(),
        })
    }

    fn encode(&self) -> InfoElement {
        let ext3 = if self.recommendation.is_some() {
            0
        } else {
            0x80
        };
        let mut c = vec![ext3 | (self.coding_standard.0 & 0x03) << 5 | (self.location.0 & 0x0F)];
        if let Some(r) = self.recommendation {
            c.push(0x80 | (r & 0x7F));
        }
        c.push(0x80 | (self.value.0 & 0x7F));
        c.extend_from_slice(&self.diagnostics);
        InfoElement::variable(Self::ID.0, c)
    }
}
