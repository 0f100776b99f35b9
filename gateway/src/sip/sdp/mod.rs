//! SDP (RFC 4566/8866) and the offer/answer model (RFC 3264) in codec terms.
//!
//! - [`text`]: SDP text <-> [`SessionDescription`] (the `sdp-types` crate, wrapped);
//! - [`description`]: our view: origin, `c=`, m-lines in order (audio, T.38, others verbatim);
//! - [`attributes`], [`codecs`]: rtpmap/fmtp/ptime/rtcp readings, RFC 3551 static types;
//! - [`convert`]: audio m-line <-> the neutral [`mapping::model::Media`];
//! - [`negotiate`]: the answerer's side of RFC 3264 §6 (codecs, payload-type map, direction);
//! - [`session`]: one call's offer/answer state (versions, re-offers, early answers).

pub mod attributes;
pub mod codecs;
pub mod convert;
pub mod description;
pub mod error;
pub mod negotiate;
pub mod session;
pub mod text;

pub use description::{
    Attribute, Bandwidth, Connection, MediaDescription, MediaKind, Origin, SessionDescription,
    Transport,
};
pub use error::{NegotiationError, SdpError};
pub use negotiate::{
    Answer, LocalCapabilities, NegotiatedAudio, NegotiatedT38, PayloadMap, PayloadMapping,
    answer_direction, answer_offer,
};
pub use session::{AnswerOutcome, AnswerStage, OfferAnswer};
