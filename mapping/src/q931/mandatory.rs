//! Mandatory information elements per message (Q.931 §3.1-3.4 tables; H.225.0 §7.3-7.4),
//! as data, and the check that reports what is missing (Q.931 §5.8.6.1: cause 96) or
//! undecodable (§5.8.7.2: cause 100).
//!
//! Only elements mandatory in both directions are listed; direction-dependent ones (e.g.
//! Channel identification in the network's first answer to SETUP) are the call state
//! machine's business.

use super::error::IeError;
use super::ie_id::IeId;
use super::message::Message;
use super::msg_type::MessageType;
use crate::cause::Q850Cause;

/// The mandatory elements of one message type.
#[derive(Debug, Clone, Copy)]
pub struct MandatoryRow {
    /// Message type.
    pub msg: MessageType,
    /// Elements that must be present (codeset 0).
    pub ies: &'static [IeId],
}

const fn row(msg: MessageType, ies: &'static [IeId]) -> MandatoryRow {
    MandatoryRow { msg, ies }
}

/// Q.931 (and Q.932 for FACILITY, HOLD/RETRIEVE).
pub static Q931: &[MandatoryRow] = &[
    row(MessageType::CONGESTION_CONTROL, &[IeId::CONGESTION_LEVEL]),
    row(MessageType::DISCONNECT, &[IeId::CAUSE]),
    row(MessageType::FACILITY, &[IeId::FACILITY]),
    row(MessageType::HOLD_REJECT, &[IeId::CAUSE]),
    row(MessageType::NOTIFY, &[IeId::NOTIFICATION_INDICATOR]),
    row(MessageType::PROGRESS, &[IeId::PROGRESS_INDICATOR]),
    row(MessageType::RESTART, &[IeId::RESTART_INDICATOR]),
    row(MessageType::RESTART_ACKNOWLEDGE, &[IeId::RESTART_INDICATOR]),
    row(
        MessageType::RESUME_ACKNOWLEDGE,
        &[IeId::CHANNEL_IDENTIFICATION],
    ),
    row(MessageType::RESUME_REJECT, &[IeId::CAUSE]),
    row(MessageType::RETRIEVE_REJECT, &[IeId::CAUSE]),
    row(MessageType::SEGMENT, &[IeId::SEGMENTED_MESSAGE]),
    row(MessageType::SETUP, &[IeId::BEARER_CAPABILITY]),
    row(MessageType::STATUS, &[IeId::CAUSE, IeId::CALL_STATE]),
    row(MessageType::SUSPEND_REJECT, &[IeId::CAUSE]),
    row(MessageType::USER_INFORMATION, &[IeId::USER_USER]),
];

/// H.225.0: the H.323-UserInformation travels in User-user, so most messages need it.
pub static H225: &[MandatoryRow] = &[
    row(MessageType::ALERTING, &[IeId::USER_USER]),
    row(MessageType::CALL_PROCEEDING, &[IeId::USER_USER]),
    row(MessageType::CONNECT, &[IeId::USER_USER]),
    row(MessageType::FACILITY, &[IeId::USER_USER]),
    row(
        MessageType::PROGRESS,
        &[IeId::PROGRESS_INDICATOR, IeId::USER_USER],
    ),
    row(MessageType::RELEASE_COMPLETE, &[IeId::USER_USER]),
    row(
        MessageType::SETUP,
        &[IeId::BEARER_CAPABILITY, IeId::USER_USER],
    ),
    row(MessageType::STATUS, &[IeId::CAUSE, IeId::CALL_STATE]),
    row(MessageType::USER_INFORMATION, &[IeId::USER_USER]),
];

/// What is wrong with a message's mandatory elements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mandatory elements missing: {missing:?}; undecodable: {invalid:?}")]
pub struct ValidationError {
    /// Mandatory elements absent.
    pub missing: Vec<IeId>,
    /// Mandatory elements present whose contents do not decode.
    pub invalid: Vec<IeError>,
}

impl ValidationError {
    /// Cause 96 when something is missing, else cause 100 (Q.931 §5.8.6.1, §5.8.7.2).
    pub fn cause(&self) -> Q850Cause {
        if self.missing.is_empty() {
            Q850Cause::INVALID_IE_CONTENTS
        } else {
            Q850Cause::MANDATORY_IE_MISSING
        }
    }
}

impl Message {
    /// The mandatory elements of this message type in its dialect.
    pub fn mandatory_ies(&self) -> &'static [IeId] {
        self.dialect()
            .mandatory
            .iter()
            .find(|r| r.msg == self.msg_type)
            .map_or(&[], |r| r.ies)
    }

    /// Checks that every mandatory element is present and decodes.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut missing = Vec::new();
        let mut invalid = Vec::new();
        for &id in self.mandatory_ies() {
            match self.find(id) {
                None => missing.push(id),
                Some(ie) => {
                    if let Some(Err(e)) = ie.typed() {
                        invalid.push(e);
                    }
                }
            }
        }
        if missing.is_empty() && invalid.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { missing, invalid })
        }
    }
}
