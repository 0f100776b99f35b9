//! The H.225.0 User-user information element (H.225.0 §7.2.2.x: IE 0x7E, protocol
//! discriminator 0x05, then the aligned-PER `H323-UserInformation`).

use h323_asn1::h225::{self, H323UUPDUH323MessageBody, H323UserInformation};
use mapping::q931::ies::UserUser;
use mapping::q931::{IeId, InfoElement, Message};

/// Why a Q.931 message carries no usable H.323-UserInformation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UuieError {
    /// No User-user element (H.225.0 requires one in every call signalling message).
    #[error("no User-user information element")]
    Missing,
    /// The element's protocol discriminator is not X.208/X.209 (0x05).
    #[error("User-user protocol discriminator {0:#04x}, not 0x05")]
    Protocol(u8),
    /// The PER does not decode.
    #[error("H323-UserInformation does not decode: {0}")]
    Per(String),
}

/// Decodes the H323-UserInformation of `msg`.
pub fn decode(msg: &Message) -> Result<H323UserInformation, UuieError> {
    let ie = msg.find(IeId::USER_USER).ok_or(UuieError::Missing)?;
    let content = ie.content();
    let (&protocol, per) = content.split_first().ok_or(UuieError::Missing)?;
    if protocol != UserUser::H225 {
        return Err(UuieError::Protocol(protocol));
    }
    h225::decode_user_information(per).map_err(|e| UuieError::Per(e.to_string()))
}

/// Adds `info` to `msg` as its User-user element (replacing any).
pub fn attach(msg: &mut Message, info: &H323UserInformation) -> Result<(), String> {
    let per = h225::encode_user_information(info).map_err(|e| e.to_string())?;
    let mut content = Vec::with_capacity(per.len() + 1);
    content.push(UserUser::H225);
    content.extend_from_slice(&per);
    msg.remove(IeId::USER_USER);
    msg.push(InfoElement::variable(IeId::USER_USER.0, content))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The ASN.1 name of a message body, for logs and metrics labels.
pub fn body_name(body: &H323UUPDUH323MessageBody) -> &'static str {
    match body {
        H323UUPDUH323MessageBody::setup(_) => "setup",
        H323UUPDUH323MessageBody::callProceeding(_) => "callProceeding",
        H323UUPDUH323MessageBody::connect(_) => "connect",
        H323UUPDUH323MessageBody::alerting(_) => "alerting",
        H323UUPDUH323MessageBody::information(_) => "information",
        H323UUPDUH323MessageBody::releaseComplete(_) => "releaseComplete",
        H323UUPDUH323MessageBody::facility(_) => "facility",
        H323UUPDUH323MessageBody::progress(_) => "progress",
        H323UUPDUH323MessageBody::empty(_) => "empty",
        H323UUPDUH323MessageBody::status(_) => "status",
        H323UUPDUH323MessageBody::statusInquiry(_) => "statusInquiry",
        H323UUPDUH323MessageBody::setupAcknowledge(_) => "setupAcknowledge",
        H323UUPDUH323MessageBody::notify(_) => "notify",
        // The CHOICE is extensible: a later edition's alternative.
        _ => "other",
    }
}
