//! Errors of the SDP layer: bad peer input, and negotiation failures the SIP leg answers
//! with 488 Not Acceptable Here (RFC 3261 §21.4.26) and a Warning header (§20.43).

/// A session description the peer sent that we cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The text is not SDP (RFC 8866 §9 grammar).
    #[error("SDP syntax: {0}")]
    Syntax(String),
    /// A `c=` address that is not an IP address.
    #[error("SDP c= address is not an IP address: {0:?}")]
    Connection(String),
    /// The description has no usable audio m-line.
    #[error("SDP has no audio m-line with a port")]
    NoAudio,
}

/// Why an offer or answer cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// No m-line of the offer could be accepted: no common codec (RFC 3264 §6).
    #[error("no common codec with the offer")]
    NoCommonCodec,
    /// The answer's audio line has no voice payload type of our offer, only this one
    /// that we did not offer (RFC 3264 §6.1).
    #[error("answer uses payload type {0} that was not offered")]
    UnknownPayloadType(u8),
    /// The answer has a different number of m-lines than our offer (RFC 3264 §6).
    #[error("answer has {answer} m-lines, the offer had {offer}")]
    MediaCountMismatch {
        /// m-lines in our offer.
        offer: usize,
        /// m-lines in the answer.
        answer: usize,
    },
    /// An offer arrived while ours awaits its answer (RFC 3264 §4: one offer at a time;
    /// RFC 3261 §14.2: 491 Request Pending).
    #[error("offer received while our offer is outstanding")]
    OfferPending,
    /// An answer arrived with no offer outstanding.
    #[error("answer without an outstanding offer")]
    NoOffer,
    /// The peer's description cannot be read.
    #[error(transparent)]
    Sdp(#[from] SdpError),
}

impl NegotiationError {
    /// The SIP status the leg answers an offer with: 491 for crossing offers, else 488.
    pub fn sip_status(&self) -> u16 {
        match self {
            NegotiationError::OfferPending => 491,
            _ => 488,
        }
    }

    /// The Warning header code and text (RFC 3261 §20.43): 305 "Incompatible media
    /// format" for codec failures, 399 "Miscellaneous warning" otherwise.
    pub fn warning(&self) -> (u16, &'static str) {
        match self {
            NegotiationError::NoCommonCodec | NegotiationError::UnknownPayloadType(_) => {
                (305, "Incompatible media format")
            }
            NegotiationError::Sdp(SdpError::NoAudio) => (304, "Media type not available"),
            _ => (399, "Miscellaneous warning"),
        }
    }
}
