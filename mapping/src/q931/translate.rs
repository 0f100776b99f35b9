//! Q.931 (and H.225.0) messages to and from the neutral call model (DESIGN.md "The pivot").
//!
//! | Q.931 message                        | [`CallEvent`]                                  |
//! |--------------------------------------|------------------------------------------------|
//! | SETUP                                | `Setup` (called, calling, redirecting, bearer, display, sending complete) |
//! | CALL PROCEEDING                      | `Proceeding`                                   |
//! | ALERTING (+ Progress indicators)     | `Alerting`                                     |
//! | PROGRESS                             | `Progress`                                     |
//! | CONNECT (+ Connected number)         | `Connect`                                      |
//! | DISCONNECT / RELEASE / RELEASE COMPLETE | `Release` (Cause IE; 16 normal clearing when absent) |
//! | INFORMATION (Called party number)    | `Info::Digits` (overlap sending, §5.1.3)       |
//! | INFORMATION (Keypad facility)        | `Info::Dtmf` for one character, `Info::Digits` for more |
//!
//! Everything else (and the media, which travels in H.245/fast start or on the B-channel)
//! is not the call model's business here and maps to `None`. Going out, a `Release`
//! becomes the dialect's first clearing message ([`Dialect::clearing_message`]).

use super::call_ref::CallReference;
use super::dialect::Dialect;
use super::error::{IeError, IeTooLong};
use super::ie_id::IeId;
use super::ies::{
    BearerCapability, CalledPartyNumber, ConnectedNumber, Display, KeypadFacility, Layer1Protocol,
    ProgressIndicator, RedirectingNumber,
};
use super::message::Message;
use super::msg_type::MessageType;
use crate::cause::{Cause, Location, Q850Cause};
use crate::model::{
    CallEvent, Info, Initiator, Progress, Redirection, RedirectionReason, Release, Setup,
};
use crate::number::{Digits, PartyNumber};
use crate::progress::ProgressDescription;

/// Why a message cannot become a call event, or an event a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// A mandatory element is absent (answer with cause 96).
    #[error("mandatory element {0} missing")]
    MissingIe(IeId),
    /// An element needed for the event does not decode (answer with cause 100).
    #[error("element contents invalid: {0}")]
    InvalidIe(IeError),
    /// A number or text of the event is too long for its element.
    #[error(transparent)]
    TooLong(#[from] IeTooLong),
}

impl TranslateError {
    /// The Q.850 cause to clear with.
    pub fn cause(&self) -> Q850Cause {
        match self {
            TranslateError::MissingIe(_) => Q850Cause::MANDATORY_IE_MISSING,
            TranslateError::InvalidIe(_) => Q850Cause::INVALID_IE_CONTENTS,
            TranslateError::TooLong(_) => Q850Cause::INTERWORKING,
        }
    }
}

/// What an outgoing message needs that the call model does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// Q.931 or H.225.0.
    pub dialect: Dialect,
    /// The call's reference (with the flag as this side sends it).
    pub call_ref: CallReference,
    /// G.711 law for speech and 3.1 kHz audio bearers (A-law on E1, u-law on T1).
    pub speech_law: Layer1Protocol,
    /// Location in the Progress indicators this side originates (Q.931 Table 4-20).
    pub location: Location,
}

/// The call event a received message stands for; `sender` is who sent it (used as the
/// initiator of a release). `Ok(None)` for messages the call model has no event for.
pub fn to_event(msg: &Message, sender: Initiator) -> Result<Option<CallEvent>, TranslateError> {
    let event = match msg.msg_type {
        MessageType::SETUP => CallEvent::Setup(Box::new(setup_of(msg)?)),
        MessageType::CALL_PROCEEDING => CallEvent::Proceeding,
        MessageType::ALERTING => CallEvent::Alerting(progress_of(msg)),
        MessageType::PROGRESS => CallEvent::Progress(progress_of(msg)),
        MessageType::CONNECT => CallEvent::Connect {
            connected: msg.connected_number(),
            media: None,
        },
        MessageType::DISCONNECT | MessageType::RELEASE | MessageType::RELEASE_COMPLETE => {
            CallEvent::Release(Release {
                cause: msg.cause().unwrap_or(Cause::NORMAL),
                initiator: sender,
                sip_status: None,
            })
        }
        MessageType::INFORMATION => match info_of(msg)? {
            Some(info) => CallEvent::Info(info),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(event))
}

/// The message a call event becomes on this leg; `Ok(None)` for events Q.931 basic call
/// does not carry (hold/resume, media).
pub fn from_event(event: &CallEvent, out: &Outgoing) -> Result<Option<Message>, TranslateError> {
    let msg = |t| Message::new(out.dialect, out.call_ref, t);
    let message = match event {
        CallEvent::Setup(setup) => setup_message(setup, out)?,
        CallEvent::Proceeding => msg(MessageType::CALL_PROCEEDING),
        CallEvent::Progress(p) => {
            let mut m = msg(MessageType::PROGRESS);
            let mut descriptions = p.descriptions.clone();
            if descriptions.is_empty() {
                // PROGRESS needs a Progress indicator (§3.1.8); early media is the point.
                descriptions.push(ProgressDescription::INBAND_AVAILABLE);
            }
            add_progress(&mut m, &descriptions, out.location)?;
            m
        }
        CallEvent::Alerting(p) => {
            let mut m = msg(MessageType::ALERTING);
            add_progress(&mut m, &p.descriptions, out.location)?;
            m
        }
        CallEvent::Connect { connected, .. } => {
            let mut m = msg(MessageType::CONNECT);
            if let Some(n) = connected {
                m.set(&ConnectedNumber(n.clone()))?;
            }
            m
        }
        CallEvent::Info(Info::Digits(digits)) => {
            let mut m = msg(MessageType::INFORMATION);
            m.set(&CalledPartyNumber(PartyNumber::unknown(digits.clone())))?;
            m
        }
        CallEvent::Info(Info::Dtmf { digit, .. }) => {
            let mut m = msg(MessageType::INFORMATION);
            m.set(&KeypadFacility::new(&digit.to_string()))?;
            m
        }
        CallEvent::Release(r) => Message::clearing(
            out.dialect,
            out.call_ref,
            out.dialect.clearing_message,
            Some(r.cause),
        ),
        CallEvent::Hold | CallEvent::Resume | CallEvent::Media(_) => return Ok(None),
    };
    Ok(Some(message))
}

fn setup_of(msg: &Message) -> Result<Setup, TranslateError> {
    let bearer = msg
        .get::<BearerCapability>()
        .ok_or(TranslateError::MissingIe(IeId::BEARER_CAPABILITY))?
        .map_err(TranslateError::InvalidIe)?;
    // Overlap sending may start with no digits at all (§5.1.3).
    let called = match msg.get::<CalledPartyNumber>() {
        Some(n) => n.map_err(TranslateError::InvalidIe)?.0,
        None => PartyNumber::unknown(Digits::empty()),
    };
    // An optional element with bad contents is treated as absent (§5.8.7.2).
    let calling = msg.calling_number();
    let restricted = calling.as_ref().is_some_and(PartyNumber::is_restricted);
    let display_name = msg.display().filter(|_| !restricted);
    let redirection = msg
        .get_all::<RedirectingNumber>()
        .flatten()
        .map(|r| Redirection {
            from: r.number,
            reason: r.reason.unwrap_or(RedirectionReason::UNKNOWN),
            count: None,
        })
        .collect();
    Ok(Setup {
        called,
        calling,
        display_name,
        redirection,
        bearer: bearer.to_model(),
        media: None,
        sending_complete: msg.sending_complete(),
    })
}

fn progress_of(msg: &Message) -> Progress {
    Progress {
        descriptions: msg.progress_descriptions(),
        media: None,
    }
}

fn info_of(msg: &Message) -> Result<Option<Info>, TranslateError> {
    if let Some(called) = msg.get::<CalledPartyNumber>() {
        let digits = called.map_err(TranslateError::InvalidIe)?.0.digits;
        return Ok(Some(Info::Digits(digits)));
    }
    let Some(keypad) = msg.get::<KeypadFacility>() else {
        return Ok(None);
    };
    let chars = keypad.map_err(TranslateError::InvalidIe)?.chars;
    let invalid = || {
        TranslateError::InvalidIe(IeError {
            ie: IeId::KEYPAD_FACILITY,
            kind: super::error::IeErrorKind::Invalid("keypad digit"),
        })
    };
    let digits = Digits::new(&chars).map_err(|_| invalid())?;
    let mut it = digits.as_str().chars();
    Ok(match (it.next(), it.next()) {
        (Some(digit), None) => Some(Info::Dtmf {
            digit,
            duration_ms: 0,
        }),
        (None, _) => None,
        _ => Some(Info::Digits(digits)),
    })
}

fn setup_message(setup: &Setup, out: &Outgoing) -> Result<Message, TranslateError> {
    let bearer = BearerCapability::from_model(setup.bearer, out.speech_law);
    let mut m = Message::setup(
        out.dialect,
        out.call_ref,
        &bearer,
        &setup.called,
        setup.calling.as_ref(),
    )?;
    if let Some(name) = &setup.display_name {
        m.set(&Display::new(name))?;
    }
    for r in &setup.redirection {
        m.add(&RedirectingNumber {
            number: r.from.clone(),
            reason: Some(r.reason),
        })?;
    }
    if setup.sending_complete {
        m.set_sending_complete();
    }
    Ok(m)
}

fn add_progress(
    m: &mut Message,
    descriptions: &[ProgressDescription],
    location: Location,
) -> Result<(), IeTooLong> {
    for &d in descriptions {
        m.add(&ProgressIndicator::new(location, d))?;
    }
    Ok(())
}
