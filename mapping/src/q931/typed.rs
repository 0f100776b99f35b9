//! The typed-element trait and the small helpers every element codec shares.

use super::element::InfoElement;
use super::error::{IeError, IeErrorKind};
use super::ie_id::IeId;

/// A typed information element: decoded from and encoded to an [`InfoElement`].
///
/// `T::decode(&x.encode()) == Ok(x)` for every value the type can hold (property-tested);
/// elements whose bytes the type cannot represent fail to decode, and their raw bytes
/// stay in the message untouched.
pub trait IeCodec: Sized {
    /// The codeset-0 identifier (registry key) of this element.
    const ID: IeId;
    /// Builds the typed view from a raw element.
    fn decode(ie: &InfoElement) -> Result<Self, IeError>;
    /// Builds the raw element (cannot fail).
    fn encode(&self) -> InfoElement;
}

crate::wire_enum! {
    /// Coding standard, two bits found in octet 3 of many elements (§4.5.5 and others).
    pub struct CodingStandard(u8) {
        /// ITU-T standardized coding.
        ITU_T = 0 => "itu-t",
        /// ISO/IEC standard.
        ISO_IEC = 1 => "iso-iec",
        /// National standard.
        NATIONAL = 2 => "national",
        /// Standard defined for the network (public or private) present on the network side.
        NETWORK = 3 => "network-specific",
    }
}

/// The contents of a variable-length element, checking it is `id`.
pub(crate) fn content_of(ie: &InfoElement, id: IeId) -> Result<&[u8], IeError> {
    if ie.id() != id || ie.is_single_octet() {
        return Err(IeError {
            ie: id,
            kind: IeErrorKind::WrongIdentifier,
        });
    }
    Ok(ie.content())
}

/// The identifier octet of a single-octet element, checking it is `id`.
pub(crate) fn single_of(ie: &InfoElement, id: IeId) -> Result<u8, IeError> {
    if ie.id() != id || !ie.is_single_octet() {
        return Err(IeError {
            ie: id,
            kind: IeErrorKind::WrongIdentifier,
        });
    }
    Ok(ie.octet())
}

/// A cursor over element contents that yields classed errors instead of panicking.
pub(crate) struct Octets<'a> {
    ie: IeId,
    rest: &'a [u8],
}

impl<'a> Octets<'a> {
    pub(crate) fn new(ie: IeId, content: &'a [u8]) -> Self {
        Octets { ie, rest: content }
    }

    /// The next octet, or a truncation error.
    pub(crate) fn next(&mut self) -> Result<u8, IeError> {
        let (&first, rest) = self.rest.split_first().ok_or(IeError::truncated(self.ie))?;
        self.rest = rest;
        Ok(first)
    }

    /// The next octet if there is one.
    pub(crate) fn next_opt(&mut self) -> Option<u8> {
        self.next().ok()
    }

    /// Peeks the next octet.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Octets up to and including the first with bit 8 set (an extension group, §4.5.1
    /// "octet group extension mechanism").
    pub(crate) fn ext_group(&mut self) -> Result<&'a [u8], IeError> {
        let n = self
            .rest
            .iter()
            .position(|b| b & 0x80 != 0)
            .ok_or(IeError::invalid(self.ie, "extension group not terminated"))?;
        let (group, rest) = self.rest.split_at(n + 1);
        self.rest = rest;
        Ok(group)
    }

    /// Everything left, leaving the cursor empty.
    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Everything left.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }

    /// Error when octets are left over.
    pub(crate) fn end(self) -> Result<(), IeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(IeError::invalid(self.ie, "unexpected trailing octets"))
        }
    }

    pub(crate) fn invalid(&self, what: &'static str) -> IeError {
        IeError::invalid(self.ie, what)
    }
}

/// Writes 7-bit values as an extension group: bit 8 = 1 on the last octet only.
pub(crate) fn push_ext_group(out: &mut Vec<u8>, values: &[u8]) {
    for (i, v) in values.iter().enumerate() {
        let last = i + 1 == values.len();
        out.push((v & 0x7F) | if last { 0x80 } else { 0 });
    }
}

/// Reads an extension group back into 7-bit values.
pub(crate) fn ext_group_values(group: &[u8]) -> Vec<u8> {
    group.iter().map(|b| b & 0x7F).collect()
}
