//! Facility, Q.932 §8.2.3: a protocol profile
//! and supplementary-service components (ROSE APDUs), kept raw.

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

/// Facility element: protocol profile (octet 3 bits 5-1) and components.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Facility {
    /// Protocol profile, e.g. [`Facility::ROSE`].
    pub profile: u8,
    /// Components (BER-coded ROSE APDUs), raw.
    pub components: Vec<u8>,
}

impl Facility {
    /// Remote Operations Protocol (X.219/X.229).
    pub const ROSE: u8 = 0x11;
    /// CMIP (X.711).
    pub const CMIP: u8 = 0x12;
    /// ACSE (X.217/X.227).
    pub const ACSE: u8 = 0x13;
    /// Networking extensions (QSIG, ECMA-165).
    pub const NETWORKING_EXTENSIONS: u8 = 0x1F;
}

impl IeCodec for Facility {
    const ID: IeId = IeId::FACILITY;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        if o3 & 0xE0 != 0x80 {
            return Err(o.invalid("octet 3 extension or spare bits"));
        }
        Ok(Facility {
            profile: o3 & 0x1F,
            components: o.rest().to_vec(),
        })
    }

    fn encode(&self) -> InfoElement {
        let mut c = vec![0x80 | (self.profile & 0x1F)];
        c.extend_from_slice(&self.components);
        InfoElement::variable(Self::ID.0, c)
    }
}
