//! Progress indicator, Q.931 §4.5.23 (Figure 4-28).

use crate::cause::Location;
use crate::progress::ProgressDescription;
use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{CodingStandard, IeCodec, Octets, content_of};

/// Progress indicator element: coding standard, location, description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgressIndicator {
    /// Octet 3 bits 7-6.
    pub coding_standard: CodingStandard,
    /// Octet 3 bits 4-1 (Q.931 Table 4-20, same code points as Q.850 locations).
    pub location: Location,
    /// Octet 4 bits 7-1.
    pub description: ProgressDescription,
}

impl ProgressIndicator {
    /// An ITU-T coded progress indicator.
    pub const fn new(location: Location, description: ProgressDescription) -> Self {
        ProgressIndicator {
            coding_standard: CodingStandard::ITU_T,
            location,
            description,
        }
    }
}

impl IeCodec for ProgressIndicator {
    const ID: IeId = IeId::PROGRESS_INDICATOR;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        let o4 = o.next()?;
        if o3 & 0x80 == 0 || o4 & 0x80 == 0 {
            return Err(o.invalid("extension octets not modelled"));
        }
        o.end()?;
        Ok(ProgressIndicator {
            coding_standard: CodingStandard((o3 >> 5) & 0x03),
            location: Location(o3 & 0x0F),
            description: ProgressDescription(o4 & 0x7F),
        })
    }

    fn encode(&self) -> InfoElement {
        InfoElement::variable(
            Self::ID.0,
            vec![
                0x80 | (self.coding_standard.0 & 0x03) << 5 | (self.location.0 & 0x0F),
                0x80 | (self.description.0 & 0x7F),
            ],
        )
    }
}
