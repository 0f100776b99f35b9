//! User-user, Q.931 §4.5.30 (Figure 4-36); in H.225.0 it carries the H.323-UserInformation
//! PDU with protocol discriminator 0x05 and a two-octet length (H.225.0 §7.2.2.1).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

/// User-user element: protocol discriminator (octet 3) and user information.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserUser {
    /// Octet 3 protocol discriminator (Table 4-26).
    pub protocol: u8,
    /// The user information.
    pub data: Vec<u8>,
}

impl UserUser {
    /// User-specific protocol.
    pub const USER_SPECIFIC: u8 = 0x00;
    /// IA5 characters.
    pub const IA5: u8 = 0x04;
    /// X.208/X.209 coded user information: H.225.0 uses it for H.323-UserInformation.
    pub const H225: u8 = 0x05;
}

impl core::fmt::Debug for UserUser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "UserUser {{ protocol: 0x{:02x}, data: <{} octets> }}",
            self.protocol,
            self.data.len()
        )
    }
}

impl IeCodec for UserUser {
    const ID: IeId = IeId::USER_USER;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let protocol = o.next()?;
        Ok(UserUser {
            protocol,
            data: o.rest().to_vec(),
        })
    }

    fn encode(&self) -> InfoElement {
        let mut c = Vec::with_capacity(1 + self.data.len());
        c.push(self.protocol);
        c.extend_from_slice(&self.data);
        InfoElement::variable(Self::ID.0, c)
    }
}
