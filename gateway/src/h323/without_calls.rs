//! H.225.0 call signalling before the call core routes calls: every message is decoded
//! and counted, a Setup is refused with RELEASE COMPLETE (cause 41 "temporary failure",
//! the cause RFC 3398 gives the SIP side's 503), and a message for a call we do not
//! have gets RELEASE COMPLETE with cause 81 "invalid call reference value" (Q.931
//! §5.8.3.2). Sans-IO: TPKT payload in, TPKT frames out.

use super::uuie;
use h323_asn1::h225::{
    H323UUPDUH323MessageBody, H323UserInformation, ReleaseCompleteUUIE, protocol_identifier_v7,
    user_information,
};
use mapping::cause::{Cause, Location, Q850Cause};
use mapping::q931::{Dialect, Message, MessageType};

/// What one received H.225.0 message led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// A metrics label: the UUIE body name, or `other`.
    pub label: &'static str,
    /// True when the message (Q.931 or its UUIE) did not decode.
    pub decode_error: bool,
    /// The answer, TPKT-framed, if any.
    pub reply: Option<Vec<u8>>,
}

/// The labels [`handle`] can give, for metrics pre-initialisation.
pub const LABELS: [&str; 14] = [
    "setup",
    "callProceeding",
    "connect",
    "alerting",
    "information",
    "releaseComplete",
    "facility",
    "progress",
    "empty",
    "status",
    "statusInquiry",
    "setupAcknowledge",
    "notify",
    "other",
];

/// Handles one TPKT payload.
pub fn handle(payload: &[u8]) -> Handled {
    let Ok(msg) = Message::decode(payload, Dialect::H225) else {
        // Q.931 §5.8.1/5.8.2: messages too short or of another protocol are ignored.
        return Handled {
            label: "other",
            decode_error: true,
            reply: None,
        };
    };
    let info = uuie::decode(&msg);
    let label = info.as_ref().map_or("other", |i| {
        uuie::body_name(&i.h323_uu_pdu.h323_message_body)
    });
    let decode_error = info.is_err();
    let call_id = match &info {
        Ok(i) => match &i.h323_uu_pdu.h323_message_body {
            H323UUPDUH323MessageBody::setup(s) => Some(s.call_identifier.clone()),
            _ => None,
        },
        Err(_) => None,
    }
    .flatten();
    let reply = match msg.msg_type {
        // Nothing answers a RELEASE COMPLETE (Q.931 §5.3.4), nor a global message.
        MessageType::RELEASE_COMPLETE => None,
        _ if msg.call_ref.is_dummy() || msg.call_ref.is_global() => None,
        MessageType::SETUP => Some(release_complete(
            &msg,
            Q850Cause::TEMPORARY_FAILURE,
            call_id,
        )),
        _ => Some(release_complete(
            &msg,
            Q850Cause::INVALID_CALL_REFERENCE,
            None,
        )),
    };
    Handled {
        label,
        decode_error,
        reply: reply.map(|q931| tpkt(&q931)),
    }
}

/// RELEASE COMPLETE for `to`'s call, with `cause` in the Cause IE and a
/// releaseComplete UUIE echoing the call identifier.
fn release_complete(
    to: &Message,
    cause: Q850Cause,
    call_id: Option<h323_asn1::h225::CallIdentifier>,
) -> Vec<u8> {
    let cause = Cause {
        value: cause,
        location: Location::PRIVATE_LOCAL,
    };
    let mut rc = Message::release_complete(Dialect::H225, to.call_ref.reply(), Some(cause));
    let body = ReleaseCompleteUUIE::new(
        protocol_identifier_v7(),
        None,
        call_id,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    );
    let info: H323UserInformation =
        user_information(H323UUPDUH323MessageBody::releaseComplete(body), false);
    // A releaseComplete with these fields always encodes; were it not to, the Cause IE
    // alone still clears the call (H.225.0 keeps Q.931 semantics).
    let _ = uuie::attach(&mut rc, &info);
    rc.encode()
}

/// RFC 1006 framing: version 3, reserved 0, length including the 4-octet header.
pub fn tpkt(payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 4).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&[3, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use h323_asn1::h225::{call_identifier, conference_identifier, setup_uuie, terminal_endpoint};
    use mapping::number::{Digits, PartyNumber};
    use mapping::q931::CallReference;
    use mapping::q931::ies::{BearerCapability, Layer1Protocol, TransferCapability};

    fn setup() -> Vec<u8> {
        let called = PartyNumber::unknown(Digits::new("1000").expect("digits"));
        let bearer = BearerCapability::circuit_64k(
            TransferCapability::SPEECH,
            Some(Layer1Protocol::G711_ULAW),
        );
        let mut m = Message::setup(
            Dialect::H225,
            CallReference::pri(0x1234, false),
            &bearer,
            &called,
            None,
        )
        .expect("fits");
        let body = setup_uuie(
            terminal_endpoint(),
            conference_identifier([1; 16]),
            call_identifier([7; 16]),
        );
        let info = user_information(H323UUPDUH323MessageBody::setup(body), false);
        uuie::attach(&mut m, &info).expect("encodes");
        m.encode()
    }

    #[test]
    fn setup_is_refused_with_release_complete() {
        let h = handle(&setup());
        assert_eq!(h.label, "setup");
        assert!(!h.decode_error);
        let reply = h.reply.expect("an answer");
        assert_eq!(&reply[..2], &[3, 0]);
        let rc = Message::decode(&reply[4..], Dialect::H225).expect("decodes");
        assert_eq!(rc.msg_type, MessageType::RELEASE_COMPLETE);
        assert!(
            rc.call_ref.flag(),
            "sent by the side that did not allocate it"
        );
        assert_eq!(rc.call_ref.value(), 0x1234);
        assert_eq!(
            rc.cause().map(|c| c.value),
            Some(Q850Cause::TEMPORARY_FAILURE)
        );
        let info = uuie::decode(&rc).expect("UUIE decodes");
        match info.h323_uu_pdu.h323_message_body {
            H323UUPDUH323MessageBody::releaseComplete(r) => {
                assert_eq!(r.call_identifier, Some(call_identifier([7; 16])));
            }
            other => panic!("not releaseComplete: {}", uuie::body_name(&other)),
        }
    }

    #[test]
    fn unknown_call_and_garbage() {
        // A CONNECT for a call we never had: cause 81.
        let mut connect = Message::decode(&setup(), Dialect::H225).expect("decodes");
        connect.msg_type = MessageType::CONNECT;
        let h = handle(&connect.encode());
        let rc = h.reply.expect("answered");
        let rc = Message::decode(&rc[4..], Dialect::H225).expect("decodes");
        assert_eq!(
            rc.cause().map(|c| c.value),
            Some(Q850Cause::INVALID_CALL_REFERENCE)
        );
        // Garbage: counted, not answered.
        let h = handle(&[0x08, 0x02, 0x00]);
        assert!(h.decode_error && h.reply.is_none());
        // RELEASE COMPLETE is never answered.
        let rc = Message::release_complete(Dialect::H225, CallReference::pri(5, true), None);
        assert!(handle(&rc.encode()).reply.is_none());
    }
}
