//! The Q.931 message and information-element codec (ITU-T Q.931 §4), shared by H.225.0
//! and ISDN PRI.
//!
//! - [`Message`]: framing (§4.1-4.4) and the element list, kept byte-exact in wire order;
//!   typed views on demand through [`IeCodec`] ([`Message::get`], [`Message::set`]);
//! - [`Dialect`]: what differs between Q.931 and H.225.0, as data;
//! - [`registry`]: one row per element with decoder, encoder and pretty-printer;
//! - [`mandatory`]: mandatory elements per message and [`Message::validate`];
//! - [`ies`]: the typed elements;
//! - [`translate`]: Q.931 messages to and from the neutral call model.
//!
//! ```
//! use mapping::q931::{Dialect, Message, MessageType};
//! let bytes = [0x08, 0x02, 0x00, 0x01, 0x5a, 0x08, 0x02, 0x80, 0x90];
//! let m = Message::decode(&bytes, Dialect::Q931).unwrap();
//! assert_eq!(m.msg_type, MessageType::RELEASE_COMPLETE);
//! assert_eq!(m.cause().unwrap().value.0, 16);
//! assert_eq!(m.encode(), bytes);
//! ```

mod builders;
mod call_ref;
mod codeset;
mod dialect;
mod element;
mod error;
mod ie_id;
pub mod ies;
pub mod mandatory;
mod message;
mod msg_type;
mod pretty;
pub mod registry;
pub mod translate;
mod typed;

pub use call_ref::{CallReference, CallReferenceError};
pub use codeset::CodesetTracker;
pub use dialect::Dialect;
pub use element::InfoElement;
pub use error::{DecodeError, ErrorClass, IeError, IeErrorKind, IeTooLong};
pub use ie_id::IeId;
pub use mandatory::ValidationError;
pub use message::Message;
pub use msg_type::MessageType;
pub use registry::IeValue;
pub use typed::{CodingStandard, IeCodec};
