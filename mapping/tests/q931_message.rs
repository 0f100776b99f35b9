//! Message framing (Q.931 §4.1-4.5): call references, errors, codeset shifts, dialects,
//! element insertion order, mandatory elements, builders and the pretty-printer.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::number::PartyNumber;
use mapping::progress::ProgressDescription;
use mapping::q931::ies::*;
use mapping::q931::{
    CallReference, DecodeError, Dialect, ErrorClass, IeId, InfoElement, Message, MessageType,
};

/// The PRI SETUP of the Cisco backhaul capture.
const PRI_SETUP: [u8; 34] = [
    0x08, 0x02, 0x00, 0x83, 0x05, 0x04, 0x03, 0x90, 0x90, 0xa2, 0x18, 0x03, 0xa9, 0x83, 0x81, 0x1e,
    0x02, 0x85, 0x83, 0x6c, 0x06, 0x00, 0x80, 0x33, 0x33, 0x33, 0x33, 0x70, 0x05, 0x80, 0x31, 0x30,
    0x30, 0x31,
];

#[test]
fn pri_setup_frames() {
    let m = Message::decode(&PRI_SETUP, Dialect::Q931).unwrap();
    assert_eq!(m.protocol, 0x08);
    assert_eq!(m.call_ref, CallReference::pri(0x83, false));
    assert_eq!(m.msg_type, MessageType::SETUP);
    let ids: Vec<_> = m.ies().iter().map(InfoElement::id).collect();
    assert_eq!(
        ids,
        [
            IeId::BEARER_CAPABILITY,
            IeId::CHANNEL_IDENTIFICATION,
            IeId::PROGRESS_INDICATOR,
            IeId::CALLING_PARTY_NUMBER,
            IeId::CALLED_PARTY_NUMBER
        ]
    );
    assert_eq!(m.encode(), PRI_SETUP);
    assert!(m.validate().is_ok());
}

#[test]
fn call_reference_forms() {
    // Dummy (length 0).
    let m = Message::decode(&[0x08, 0x00, 0x62], Dialect::Q931).unwrap();
    assert!(m.call_ref.is_dummy());
    assert_eq!(m.call_ref.to_string(), "dummy");
    // BRI, one octet, flag set.
    let m = Message::decode(&[0x08, 0x01, 0x81, 0x0f], Dialect::Q931).unwrap();
    assert_eq!(m.call_ref, CallReference::bri(1, true));
    assert_eq!(m.call_ref.reply(), CallReference::bri(1, false));
    // Global call reference in RESTART (§5.5), all interfaces.
    let restart = [0x08, 0x02, 0x00, 0x00, 0x46, 0x79, 0x01, 0x87];
    let m = Message::decode(&restart, Dialect::Q931).unwrap();
    assert!(m.call_ref.is_global());
    assert_eq!(
        m.get::<RestartIndicator>().unwrap().unwrap(),
        RestartIndicator(RestartClass::ALL_INTERFACES)
    );
    // Fifteen octets, the most the length nibble allows.
    let mut long = vec![0x08, 0x0f, 0xff];
    long.extend([0xee; 14]);
    long.push(0x7d);
    let m = Message::decode(&long, Dialect::Q931).unwrap();
    assert_eq!(m.call_ref.octets(), 15);
    assert!(m.call_ref.flag());
    assert_eq!(m.encode(), long);
    assert!(CallReference::new(16, 0, false).is_err());
    assert!(CallReference::new(1, 0x80, false).is_err());
    assert!(CallReference::new(0, 0, true).is_err());
    assert_eq!(
        CallReference::new(2, 0x7fff, true).unwrap(),
        CallReference::pri(0x7fff, true)
    );
}

#[test]
fn framing_errors_are_classed() {
    let cases: &[(&[u8], DecodeError)] = &[
        (
            &[],
            DecodeError::Truncated {
                what: "protocol discriminator",
                offset: 0,
            },
        ),
        (
            &[0x08],
            DecodeError::Truncated {
                what: "call reference length",
                offset: 1,
            },
        ),
        (
            &[0x08, 0x12, 0x00],
            DecodeError::BadCallReferenceLength(0x12),
        ),
        (
            &[0x08, 0x02, 0x00],
            DecodeError::Truncated {
                what: "call reference",
                offset: 2,
            },
        ),
        (
            &[0x08, 0x02, 0x00, 0x01],
            DecodeError::Truncated {
                what: "message type",
                offset: 4,
            },
        ),
        (
            &[0x08, 0x02, 0x00, 0x01, 0x05, 0x04],
            DecodeError::Truncated {
                what: "information element length",
                offset: 6,
            },
        ),
        (
            &[0x08, 0x02, 0x00, 0x01, 0x05, 0x04, 0x05, 0x80],
            DecodeError::BadIeLength {
                id: 0x04,
                offset: 5,
                length: 5,
                available: 1,
            },
        ),
        (
            &[0x09, 0x02, 0x00, 0x01, 0x05],
            DecodeError::BadProtocolDiscriminator(0x09),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            &Message::decode(bytes, Dialect::Q931).unwrap_err(),
            expected
        );
    }
    assert_eq!(
        DecodeError::BadProtocolDiscriminator(9).class(),
        ErrorClass::Incompatible
    );
    assert_eq!(
        DecodeError::BadCallReferenceLength(0x12).cause(),
        Q850Cause::INVALID_CALL_REFERENCE
    );
    // H.225.0 User-user needs two length octets.
    assert!(matches!(
        Message::decode(&[0x08, 0x02, 0x00, 0x01, 0x05, 0x7e, 0x00], Dialect::H225),
        Err(DecodeError::Truncated { .. })
    ));
    // Maintenance protocol discriminator (SERVICE) is accepted by the Q.931 dialect only.
    assert!(Message::decode(&[0x03, 0x02, 0x00, 0x01, 0x0f], Dialect::Q931).is_ok());
    assert!(Message::decode(&[0x03, 0x02, 0x00, 0x01, 0x0f], Dialect::H225).is_err());
}

#[test]
fn codeset_shifts_keep_unknown_elements() {
    // Locking shift to 6, then a codeset-6 element with identifier 0x04: not a bearer.
    let locking = [
        0x08, 0x02, 0x00, 0x01, 0x05, 0x04, 0x02, 0x88, 0x90, 0x96, 0x04, 0x02, 0x01, 0x02,
    ];
    let m = Message::decode(&locking, Dialect::Q931).unwrap();
    assert_eq!(m.find_all(IeId::BEARER_CAPABILITY).count(), 1);
    let codesets: Vec<_> = m.ies_with_codeset().map(|(cs, _)| cs).collect();
    assert_eq!(codesets, [0, 0, 6]);
    assert_eq!(m.encode(), locking);
    // Non-locking shift: only the next element is in codeset 6.
    let once = [
        0x08, 0x02, 0x00, 0x01, 0x05, 0x9e, 0x7f, 0x01, 0xaa, 0x04, 0x02, 0x88, 0x90,
    ];
    let m = Message::decode(&once, Dialect::Q931).unwrap();
    let codesets: Vec<_> = m.ies_with_codeset().map(|(cs, _)| cs).collect();
    assert_eq!(codesets, [0, 6, 0]);
    assert!(m.has(IeId::BEARER_CAPABILITY));
    assert!(!m.has(IeId::ESCAPE_FOR_EXTENSION));
    assert_eq!(m.encode(), once);
    // In H.225.0 only the codeset-0 User-user has a two-octet length.
    let h225 = [0x08, 0x02, 0x00, 0x01, 0x05, 0x96, 0x7e, 0x02, 0xaa, 0xbb];
    let m = Message::decode(&h225, Dialect::H225).unwrap();
    assert_eq!(m.ies()[1].content(), [0xaa, 0xbb]);
    assert_eq!(m.encode(), h225);
}

#[test]
fn unknown_elements_are_kept_in_order() {
    let bytes = [
        0x08, 0x02, 0x00, 0x01, 0x05, 0x04, 0x02, 0x88, 0x90, 0x33, 0x00, 0x5f, 0x02, 0x01, 0x02,
        0xa1, 0xc5,
    ];
    let m = Message::decode(&bytes, Dialect::Q931).unwrap();
    assert_eq!(m.ies().len(), 5);
    assert!(m.ies()[1].typed().is_none());
    assert_eq!(m.encode(), bytes);
}

#[test]
fn non_canonical_typed_elements_re_encode_exactly() {
    // Cause with a spare bit set and lower-case digits: typed views differ, bytes do not.
    let bytes = [
        0x08, 0x02, 0x00, 0x01, 0x5a, 0x08, 0x02, 0x91, 0x90, 0x70, 0x02, 0x80, b'a',
    ];
    let m = Message::decode(&bytes, Dialect::Q931).unwrap();
    assert_eq!(m.cause().unwrap().value, Q850Cause::NORMAL_CLEARING);
    assert_eq!(m.called_number().unwrap().digits.as_str(), "A");
    assert_eq!(m.encode(), bytes);
}

#[test]
fn set_inserts_in_identifier_order_before_shifts() {
    let mut m = Message::new(
        Dialect::Q931,
        CallReference::pri(5, false),
        MessageType::SETUP,
    );
    m.push(InfoElement::variable(0x04, vec![0x88, 0x90]))
        .unwrap();
    m.push(InfoElement::single(0x96)).unwrap();
    m.push(InfoElement::variable(0x70, vec![0x01])).unwrap();
    let called = PartyNumber::from_e164_or_local("+4930").unwrap();
    m.set(&CalledPartyNumber(called.clone())).unwrap();
    m.set(&Display::new("x")).unwrap();
    m.set_sending_complete();
    let octets: Vec<_> = m.ies().iter().map(InfoElement::octet).collect();
    assert_eq!(octets, [0x04, 0x28, 0x70, 0xa1, 0x96, 0x70]);
    assert_eq!(m.called_number().unwrap(), called);
    // set replaces the codeset-0 element in place.
    m.set(&Display::new("y")).unwrap();
    assert_eq!(m.find_all(IeId::DISPLAY).count(), 1);
    assert_eq!(m.display().unwrap(), "y");
    // add keeps both, in order.
    let pi = |d| ProgressIndicator::new(Location::USER, d);
    m.add(&pi(ProgressDescription::NOT_END_TO_END_ISDN))
        .unwrap();
    m.add(&pi(ProgressDescription::INBAND_AVAILABLE)).unwrap();
    assert_eq!(
        m.progress_descriptions(),
        [
            ProgressDescription::NOT_END_TO_END_ISDN,
            ProgressDescription::INBAND_AVAILABLE
        ]
    );
    // remove leaves the codeset-6 element alone.
    assert_eq!(m.remove(IeId::CALLED_PARTY_NUMBER), 1);
    assert_eq!(m.ies().last().unwrap().octet(), 0x70);
    let again = Message::decode(&m.encode(), Dialect::Q931).unwrap();
    assert_eq!(again, m);
}

#[test]
fn remove_takes_a_non_locking_shift_with_it() {
    let bytes = [
        0x08, 0x01, 0x01, 0x05, 0x98, 0x08, 0x02, 0x80, 0x90, 0x34, 0x01, 0x01,
    ];
    let mut m = Message::decode(&bytes, Dialect::Q931).unwrap();
    assert!(m.has(IeId::CAUSE));
    assert_eq!(m.remove(IeId::CAUSE), 2);
    assert_eq!(m.encode(), [0x08, 0x01, 0x01, 0x05, 0x34, 0x01, 0x01]);
}

#[test]
fn lengths_are_checked_when_elements_are_added() {
    let big = UserUser {
        protocol: UserUser::H225,
        data: vec![0x55; 400],
    };
    let mut q931 = Message::new(
        Dialect::Q931,
        CallReference::pri(1, false),
        MessageType::SETUP,
    );
    let err = q931.set(&big).unwrap_err();
    assert_eq!((err.ie, err.length, err.max), (IeId::USER_USER, 401, 255));
    assert!(q931.ies().is_empty());
    let mut h225 = Message::new(
        Dialect::H225,
        CallReference::pri(1, false),
        MessageType::SETUP,
    );
    h225.set(&big).unwrap();
    let bytes = h225.encode();
    assert_eq!(&bytes[5..8], [0x7e, 0x01, 0x91]);
    assert_eq!(Message::decode(&bytes, Dialect::H225).unwrap(), h225);
}

#[test]
fn validate_reports_missing_and_invalid_mandatory_elements() {
    let m = Message::new(
        Dialect::Q931,
        CallReference::pri(1, false),
        MessageType::SETUP,
    );
    let err = m.validate().unwrap_err();
    assert_eq!(err.missing, [IeId::BEARER_CAPABILITY]);
    assert_eq!(err.cause(), Q850Cause::MANDATORY_IE_MISSING);
    let m = Message::new(
        Dialect::H225,
        CallReference::pri(1, false),
        MessageType::SETUP,
    );
    assert_eq!(
        m.validate().unwrap_err().missing,
        [IeId::BEARER_CAPABILITY, IeId::USER_USER]
    );
    let bad_cause = [0x08, 0x02, 0x00, 0x01, 0x45, 0x08, 0x01, 0x80];
    let m = Message::decode(&bad_cause, Dialect::Q931).unwrap();
    let err = m.validate().unwrap_err();
    assert!(err.missing.is_empty());
    assert_eq!(err.invalid.len(), 1);
    assert_eq!(err.cause(), Q850Cause::INVALID_IE_CONTENTS);
    let status = [
        0x08, 0x02, 0x80, 0x01, 0x7d, 0x08, 0x02, 0x80, 0x9e, 0x14, 0x01, 0x0a,
    ];
    assert!(
        Message::decode(&status, Dialect::Q931)
            .unwrap()
            .validate()
            .is_ok()
    );
    assert!(
        Message::new(
            Dialect::Q931,
            CallReference::pri(1, false),
            MessageType::ALERTING
        )
        .validate()
        .is_ok()
    );
}

#[test]
fn builders() {
    let cr = CallReference::pri(0x1234, false);
    let called = PartyNumber::from_e164_or_local("+4930123").unwrap();
    let calling = PartyNumber::from_e164_or_local("2000").unwrap();
    let bc =
        BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW));
    let setup = Message::setup(Dialect::Q931, cr, &bc, &called, Some(&calling)).unwrap();
    assert_eq!(
        setup.encode(),
        [
            0x08, 0x02, 0x12, 0x34, 0x05, 0x04, 0x03, 0x80, 0x90, 0xa3, 0x6c, 0x05, 0x80, b'2',
            b'0', b'0', b'0', 0x70, 0x08, 0x91, b'4', b'9', b'3', b'0', b'1', b'2', b'3'
        ]
    );
    assert!(setup.validate().is_ok());
    let rc = Message::release_complete(Dialect::H225, cr.reply(), Some(Cause::NORMAL));
    assert_eq!(
        rc.encode(),
        [0x08, 0x02, 0x92, 0x34, 0x5a, 0x08, 0x02, 0x80, 0x90]
    );
    let p = Message::progress(
        Dialect::Q931,
        cr,
        ProgressIndicator::new(
            Location::PRIVATE_LOCAL,
            ProgressDescription::INBAND_AVAILABLE,
        ),
    );
    assert_eq!(
        p.encode(),
        [0x08, 0x02, 0x12, 0x34, 0x03, 0x1e, 0x02, 0x81, 0x88]
    );
    assert!(p.validate().is_ok());
}

#[test]
fn pretty_print_redacts_numbers() {
    let m = Message::decode(&PRI_SETUP, Dialect::Q931).unwrap();
    let text = m.to_string();
    assert!(text.starts_with("SETUP pd=0x08 cr=2/0x83 (q931)"), "{text}");
    assert!(text.contains("Bearer capability"), "{text}");
    assert!(text.contains("origination-non-isdn"), "{text}");
    assert!(!text.contains("3333") && !text.contains("1001"), "{text}");
    assert!(!format!("{:?}", m).contains("1001"));
}
