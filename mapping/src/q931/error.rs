//! Errors of the Q.931 codec (DESIGN.md practice 12: bad peer input is an error, never a panic).

use super::ie_id::IeId;
use crate::cause::Q850Cause;

/// Who is to blame for an error, so callers can count and react by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The peer sent something malformed (truncated, bad lengths).
    PeerMisbehaved,
    /// The peer sent something well-formed that we do not take (other protocol, unmodelled coding).
    Incompatible,
}

/// Why a Q.931 message could not be framed (Q.931 §4.1-4.5, §5.8.1-5.8.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message ends before the octet named by `what`.
    #[error("message truncated: {what} missing at offset {offset}")]
    Truncated {
        /// The field that is missing.
        what: &'static str,
        /// Byte offset where it should have started.
        offset: usize,
    },
    /// The protocol discriminator is not one the dialect takes (Q.931 §4.2, §5.8.1).
    #[error("protocol discriminator 0x{0:02x} not accepted by this dialect")]
    BadProtocolDiscriminator(u8),
    /// The call reference length octet has non-zero spare bits or exceeds the octets left (§4.3).
    #[error("bad call reference length octet 0x{0:02x}")]
    BadCallReferenceLength(u8),
    /// An information element's length runs past the end of the message (§4.5.1).
    #[error(
        "information element 0x{id:02x} at offset {offset}: length {length} exceeds the {available} octets left"
    )]
    BadIeLength {
        /// Identifier octet.
        id: u8,
        /// Byte offset of the identifier.
        offset: usize,
        /// Declared length.
        length: usize,
        /// Octets actually left.
        available: usize,
    },
}

impl DecodeError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            DecodeError::BadProtocolDiscriminator(_) => ErrorClass::Incompatible,
            _ => ErrorClass::PeerMisbehaved,
        }
    }

    /// The Q.850 cause a STATUS/RELEASE COMPLETE answering this message would carry (§5.8).
    pub fn cause(&self) -> Q850Cause {
        match self {
            DecodeError::BadProtocolDiscriminator(_) => Q850Cause::INVALID_MESSAGE,
            DecodeError::BadCallReferenceLength(_) => Q850Cause::INVALID_CALL_REFERENCE,
            _ => Q850Cause::INVALID_MESSAGE,
        }
    }
}

/// What is wrong inside one information element's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IeErrorKind {
    /// Fewer octets than the IE's mandatory octets.
    Truncated,
    /// An octet holds a value or extension-bit pattern the typed view does not model.
    Invalid(&'static str),
    /// The element is another IE than the one asked for.
    WrongIdentifier,
}

/// A typed view of an information element could not be built (raw bytes are kept regardless).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{ie}: {kind:?}")]
pub struct IeError {
    /// The element.
    pub ie: IeId,
    /// What is wrong.
    pub kind: IeErrorKind,
}

impl IeError {
    pub(crate) fn truncated(ie: IeId) -> Self {
        IeError {
            ie,
            kind: IeErrorKind::Truncated,
        }
    }

    pub(crate) fn invalid(ie: IeId, what: &'static str) -> Self {
        IeError {
            ie,
            kind: IeErrorKind::Invalid(what),
        }
    }

    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self.kind {
            IeErrorKind::Invalid(_) => ErrorClass::Incompatible,
            _ => ErrorClass::PeerMisbehaved,
        }
    }

    /// Q.850 cause 100 "invalid information element contents" (§5.8.7.2).
    pub fn cause(&self) -> Q850Cause {
        Q850Cause::INVALID_IE_CONTENTS
    }
}

/// An information element cannot be added because its contents exceed the length field (§4.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{ie}: contents of {length} octets exceed the maximum of {max} in this dialect")]
pub struct IeTooLong {
    /// The element.
    pub ie: IeId,
    /// Its contents length.
    pub length: usize,
    /// The most the length field can say here.
    pub max: usize,
}
