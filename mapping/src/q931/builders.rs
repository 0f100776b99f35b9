//! Builders for the messages the legs send most, and accessors for what they read most.
//!
//! Builders return [`IeTooLong`] only when a number or text is longer than an element can
//! carry (255 octets); encoding the result cannot fail.

use super::call_ref::CallReference;
use super::dialect::Dialect;
use super::error::IeTooLong;
use super::ie_id::IeId;
use super::ies::{
    BearerCapability, CalledPartyNumber, CallingPartyNumber, CauseIe, ConnectedNumber, Display,
    KeypadFacility, ProgressIndicator, SendingComplete,
};
use super::message::Message;
use super::msg_type::MessageType;
use crate::cause::Cause;
use crate::number::PartyNumber;
use crate::progress::ProgressDescription;

impl Message {
    /// SETUP (§3.1.14) with bearer capability, called and (optionally) calling number.
    pub fn setup(
        dialect: Dialect,
        call_ref: CallReference,
        bearer: &BearerCapability,
        called: &PartyNumber,
        calling: Option<&PartyNumber>,
    ) -> Result<Message, IeTooLong> {
        let mut m = Message::new(dialect, call_ref, MessageType::SETUP);
        m.set(bearer)?;
        if let Some(calling) = calling {
            m.set(&CallingPartyNumber(calling.clone()))?;
        }
        m.set(&CalledPartyNumber(called.clone()))?;
        Ok(m)
    }

    /// A clearing message (DISCONNECT, RELEASE or RELEASE COMPLETE, §3.1.5/3.1.9/3.1.10)
    /// carrying `cause` when given.
    pub fn clearing(
        dialect: Dialect,
        call_ref: CallReference,
        msg_type: MessageType,
        cause: Option<Cause>,
    ) -> Message {
        let mut m = Message::new(dialect, call_ref, msg_type);
        if let Some(cause) = cause {
            // A cause without diagnostics is 2 octets: always fits.
            let _ = m.set(&CauseIe::new(cause));
        }
        m
    }

    /// RELEASE COMPLETE (§3.1.10) with an optional cause.
    pub fn release_complete(
        dialect: Dialect,
        call_ref: CallReference,
        cause: Option<Cause>,
    ) -> Message {
        Self::clearing(dialect, call_ref, MessageType::RELEASE_COMPLETE, cause)
    }

    /// PROGRESS (§3.1.8) with one progress indicator.
    pub fn progress(
        dialect: Dialect,
        call_ref: CallReference,
        indicator: ProgressIndicator,
    ) -> Message {
        let mut m = Message::new(dialect, call_ref, MessageType::PROGRESS);
        // A progress indicator is 2 octets: always fits.
        let _ = m.set(&indicator);
        m
    }

    /// Sets the Sending complete element (§4.5.27).
    pub fn set_sending_complete(&mut self) -> &mut Self {
        // A single-octet element has no length to overflow.
        let _ = self.set(&SendingComplete);
        self
    }

    /// The cause of the first Cause element that decodes.
    pub fn cause(&self) -> Option<Cause> {
        self.get_all::<CauseIe>()
            .flatten()
            .next()
            .map(|c| c.cause())
    }

    /// The called party number, when present and decodable.
    pub fn called_number(&self) -> Option<PartyNumber> {
        self.get::<CalledPartyNumber>()?.ok().map(|n| n.0)
    }

    /// The calling party number, when present and decodable.
    pub fn calling_number(&self) -> Option<PartyNumber> {
        self.get::<CallingPartyNumber>()?.ok().map(|n| n.0)
    }

    /// The connected number, when present and decodable.
    pub fn connected_number(&self) -> Option<PartyNumber> {
        self.get::<ConnectedNumber>()?.ok().map(|n| n.0)
    }

    /// The descriptions of every Progress indicator that decodes, in order.
    pub fn progress_descriptions(&self) -> Vec<ProgressDescription> {
        self.get_all::<ProgressIndicator>()
            .flatten()
            .map(|p| p.description)
            .collect()
    }

    /// True when Sending complete is present.
    pub fn sending_complete(&self) -> bool {
        self.has(IeId::SENDING_COMPLETE)
    }

    /// The display text, when present.
    pub fn display(&self) -> Option<String> {
        self.get::<Display>()?.ok().map(|d| d.text())
    }

    /// The keypad characters, when present and IA5.
    pub fn keypad(&self) -> Option<String> {
        self.get::<KeypadFacility>()?.ok().map(|k| k.chars)
    }
}
