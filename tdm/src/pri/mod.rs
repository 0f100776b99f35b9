//! ISDN PRI call control (ITU-T Q.931 §5) over Q.921: [`Pri`] is layer 3 for one
//! interface, network or user side; [`PriStack`] puts it on a [`crate::q921::DataLink`];
//! [`Variant`] holds what EuroISDN, NI-2 and QSIG change.
//!
//! ```
//! use std::time::Instant;
//! use mapping::number::{Digits, PartyNumber};
//! use mapping::q931::ies::{BearerCapability, Layer1Protocol, TransferCapability};
//! use mapping::q931::{CallReference, Dialect, Message, MessageType};
//! use tdm::pri::{Config, Pri, PriOutput, Variant};
//! use tdm::q921::{Event, Side};
//!
//! let now = Instant::now();
//! let mut pri = Pri::new(Config::e1(Side::User, Variant::EUROISDN));
//! pri.handle_dl_event(now, &Event::EstablishConfirm); // the data link is up
//! let number = |d: &str| PartyNumber::unknown(Digits::new(d).unwrap());
//! let setup = Message::setup(
//!     Dialect::Q931,
//!     CallReference::dummy(), // set by the interface
//!     &BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW)),
//!     &number("1000"),
//!     Some(&number("2000")),
//! )
//! .unwrap();
//! let call = pri.setup(now, setup, None).unwrap();
//! let sent: Vec<Message> = std::iter::from_fn(|| pri.poll_output())
//!     .filter_map(|o| match o {
//!         PriOutput::Transmit(bytes) => Message::decode(&bytes, Dialect::Q931).ok(),
//!         PriOutput::Event(_) => None,
//!     })
//!     .collect();
//! assert_eq!(sent[0].msg_type, MessageType::SETUP);
//! assert_eq!(sent[0].call_ref, CallReference::pri(call.crv, false));
//! assert_eq!(pri.call_channel(call), Some(1)); // the user side picks from the bottom
//! assert_eq!(pri.poll_timeout(), Some(now + std::time::Duration::from_secs(4))); // T303
//! ```

mod interface;
mod stack;
mod variant;

pub use interface::{
    CallId, CallState, ChannelState, Config, Pri, PriError, PriEvent, PriOutput, RxError, Timer,
};
pub use stack::{PriStack, StackOutput};
pub use variant::{ChannelPreference, Timers, Variant};

#[cfg(test)]
mod tests;
