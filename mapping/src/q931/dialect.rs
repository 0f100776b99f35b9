//! Dialects of the Q.931 wire format, as data (DESIGN.md practice 10).
//!
//! H.225.0 call signalling is Q.931 with a few changes that touch the codec: the
//! User-user element has a two-octet length (H.225.0 §7.2.2.1), and the mandatory
//! elements of each message differ (H.225.0 §7.3-7.4). Everything the codec needs to
//! know about a dialect is a field of [`Dialect`]; code never branches on its name.

use super::ie_id::IeId;
use super::mandatory::{self, MandatoryRow};
use super::msg_type::MessageType;

/// One dialect of the Q.931 message format.
#[derive(Clone, Copy)]
pub struct Dialect {
    /// Short name for logs.
    pub name: &'static str,
    /// Protocol discriminators accepted by decode (§4.2); others are an error.
    pub protocols: &'static [u8],
    /// Codeset-0 elements whose length field is two octets, big-endian.
    pub wide_length: &'static [IeId],
    /// Mandatory elements per message type (Q.931 §3; H.225.0 §7.3).
    pub mandatory: &'static [MandatoryRow],
    /// Message used to clear a call from the call model's Release (first clearing message).
    pub clearing_message: MessageType,
}

impl Dialect {
    /// ITU-T Q.931 on an ISDN D-channel. Protocol discriminator 0x08, and 0x03 for the
    /// maintenance messages (SERVICE) some PRI variants use.
    pub const Q931: Dialect = Dialect {
        name: "q931",
        protocols: &[0x08, 0x03],
        wide_length: &[],
        mandatory: mandatory::Q931,
        clearing_message: MessageType::DISCONNECT,
    };

    /// H.225.0 call signalling (Q.931 over TCP): User-user has a two-octet length.
    pub const H225: Dialect = Dialect {
        name: "h225",
        protocols: &[0x08],
        wide_length: &[IeId::USER_USER],
        mandatory: mandatory::H225,
        clearing_message: MessageType::RELEASE_COMPLETE,
    };

    /// Octets of the length field of a variable-length element in `codeset`.
    pub fn length_octets(&self, codeset: u8, id: u8) -> usize {
        if codeset == 0 && self.wide_length.contains(&IeId(id)) {
            2
        } else {
            1
        }
    }

    /// Largest contents length the length field can express.
    pub fn max_content(&self, codeset: u8, id: u8) -> usize {
        match self.length_octets(codeset, id) {
            2 => usize::from(u16::MAX),
            _ => usize::from(u8::MAX),
        }
    }
}

/// Dialects are equal when their names are: each name denotes one constant.
impl PartialEq for Dialect {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Dialect {}

impl core::fmt::Debug for Dialect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Dialect({})", self.name)
    }
}
