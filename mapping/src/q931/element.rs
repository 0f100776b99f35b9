//! One information element as carried on the wire (Q.931 §4.5.1).

use super::codeset::shift_of;
use super::error::IeError;
use super::ie_id::IeId;
use super::registry::{self, IeValue};

/// An information element, kept exactly as received (or as a typed encoder produced it).
///
/// Single-octet elements (bit 8 of the identifier set) are the one octet; variable-length
/// ones are identifier plus contents (the length field is written by the message, whose
/// dialect knows how wide it is). Re-encoding an element never changes its bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InfoElement {
    octet: u8,
    content: Vec<u8>,
}

impl InfoElement {
    /// A single-octet element (bit 8 is forced to 1).
    pub const fn single(octet: u8) -> Self {
        InfoElement {
            octet: octet | 0x80,
            content: Vec::new(),
        }
    }

    /// A variable-length element (bit 8 of `id` is forced to 0).
    pub fn variable(id: u8, content: Vec<u8>) -> Self {
        InfoElement {
            octet: id & 0x7F,
            content,
        }
    }

    /// The identifier octet as on the wire (for type 1 single-octet elements this
    /// includes the value in bits 4-1).
    pub const fn octet(&self) -> u8 {
        self.octet
    }

    /// The registry key: the identifier without a type 1 element's value bits.
    pub const fn id(&self) -> IeId {
        IeId::key_of(self.octet)
    }

    /// True for single-octet elements.
    pub const fn is_single_octet(&self) -> bool {
        self.octet & 0x80 != 0
    }

    /// Contents after the length field (empty for single-octet elements).
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// `Some((locking, codeset))` when this is a Shift element.
    pub const fn shift(&self) -> Option<(bool, u8)> {
        shift_of(self.octet)
    }

    /// The typed view of a codeset-0 element, `None` when the registry has no decoder for it.
    pub fn typed(&self) -> Option<Result<IeValue, IeError>> {
        registry::lookup(self.id())
            .and_then(|spec| spec.decode)
            .map(|decode| decode(self))
    }
}

impl core::fmt::Debug for InfoElement {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_single_octet() {
            write!(f, "InfoElement({} 0x{:02x})", self.id(), self.octet)
        } else if registry::is_personal(self.id()) && crate::pii::redaction() {
            // Numbers and names are personal data (DESIGN.md practice 12).
            write!(
                f,
                "InfoElement({} <{} octets>)",
                self.id(),
                self.content.len()
            )
        } else {
            write!(f, "InfoElement({} {:02x?})", self.id(), self.content)
        }
    }
}
