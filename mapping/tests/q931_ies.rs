//! Information elements against byte vectors derived from the Q.931 §4.5 figures: each
//! vector decodes to the expected typed value, and the typed value encodes back to it.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::model::{Bearer, RedirectionReason};
use mapping::number::{Digits, NumberingPlan, PartyNumber, Presentation, Screening, TypeOfNumber};
use mapping::progress::ProgressDescription;
use mapping::q931::ies::*;
use mapping::q931::{CodingStandard, Dialect, IeCodec, IeErrorKind, IeId, InfoElement, Message};

/// Decodes `wire` (identifier, length, contents of one element) in a Q.931 message and
/// checks the typed value and the re-encoding.
fn check<T: IeCodec + PartialEq + core::fmt::Debug>(wire: &[u8], expected: T) {
    let ie = element(wire);
    let typed = T::decode(&ie).unwrap_or_else(|e| panic!("{wire:02x?}: {e}"));
    assert_eq!(typed, expected, "decode of {wire:02x?}");
    assert_eq!(expected.encode(), ie, "encode of {expected:?}");
}

/// The one element of a message whose elements are `wire`.
fn element(wire: &[u8]) -> InfoElement {
    let mut bytes = vec![0x08, 0x01, 0x01, 0x05];
    bytes.extend_from_slice(wire);
    let m = Message::decode(&bytes, Dialect::Q931).expect("test vector frames");
    assert_eq!(m.ies().len(), 1, "one element in {wire:02x?}");
    m.ies()[0].clone()
}

fn num(digits: &str, ton: TypeOfNumber, npi: NumberingPlan) -> PartyNumber {
    PartyNumber {
        digits: Digits::new(digits).unwrap(),
        ton,
        npi,
        presentation: None,
        screening: None,
    }
}

#[test]
fn bearer_speech_alaw() {
    // Figure 4-11: octet 3 ext/ITU-T/speech, octet 4 circuit/64k, octet 5 layer 1 A-law.
    let bc =
        BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW));
    check(&[0x04, 0x03, 0x80, 0x90, 0xa3], bc.clone());
    assert_eq!(bc.to_model(), Bearer::Speech);
    assert_eq!(
        BearerCapability::from_model(Bearer::Speech, Layer1Protocol::G711_ALAW),
        bc
    );
}

#[test]
fn bearer_audio_ulaw_and_digital() {
    let audio = BearerCapability::circuit_64k(
        TransferCapability::AUDIO_3K1,
        Some(Layer1Protocol::G711_ULAW),
    );
    check(&[0x04, 0x03, 0x90, 0x90, 0xa2], audio.clone());
    assert_eq!(audio.to_model(), Bearer::Audio3k1);
    let digital = BearerCapability::circuit_64k(TransferCapability::UNRESTRICTED_DIGITAL, None);
    check(&[0x04, 0x02, 0x88, 0x90], digital.clone());
    assert_eq!(digital.to_model(), Bearer::UnrestrictedDigital);
}

#[test]
fn bearer_multirate_with_layers() {
    // Octet 4.1 multiplier 6; octet 5 V.110 with 5a; octet 6 Q.921 (layer 2), 7 X.25.
    let bc = BearerCapability {
        coding_standard: CodingStandard::ITU_T,
        capability: TransferCapability::UNRESTRICTED_DIGITAL,
        transfer_mode: TransferMode::CIRCUIT,
        rate: TransferRate::MULTIRATE,
        multiplier: Some(6),
        layer1: Some(Layer1Protocol::V110),
        layer1_extra: vec![0x8f],
        higher_layers: vec![0xc2, 0xe6],
    };
    check(&[0x04, 0x07, 0x88, 0x98, 0x86, 0x21, 0x8f, 0xc2, 0xe6], bc);
}

#[test]
fn bearer_unmodelled_octet_4a_is_an_error() {
    let ie = element(&[0x04, 0x03, 0x88, 0x10, 0xa0]);
    let err = BearerCapability::decode(&ie).unwrap_err();
    assert!(matches!(err.kind, IeErrorKind::Invalid(_)));
    assert_eq!(
        BearerCapability::decode(&element(&[0x04, 0x01, 0x80]))
            .unwrap_err()
            .kind,
        IeErrorKind::Truncated
    );
}

#[test]
fn cause_normal_clearing() {
    // Figure 4-17 / Q.850: ext, ITU-T, location 1 (private local); cause 16.
    let c = CauseIe::new(Cause {
        value: Q850Cause::NORMAL_CLEARING,
        location: Location::PRIVATE_LOCAL,
    });
    check(&[0x08, 0x02, 0x81, 0x90], c.clone());
    assert_eq!(c.cause().value, Q850Cause::NORMAL_CLEARING);
}

#[test]
fn cause_with_recommendation_and_diagnostics() {
    // Octet 3 ext 0 -> octet 3a (recommendation Q.931 = 0); cause 1 with diagnostic 0x82.
    let c = CauseIe {
        coding_standard: CodingStandard::ITU_T,
        location: Location::PUBLIC_REMOTE,
        recommendation: Some(0),
        value: Q850Cause::UNALLOCATED_NUMBER,
        diagnostics: vec![0x82],
    };
    check(&[0x08, 0x04, 0x04, 0x80, 0x81, 0x82], c);
    assert_eq!(
        CauseIe::decode(&element(&[0x08, 0x01, 0x81]))
            .unwrap_err()
            .kind,
        IeErrorKind::Truncated
    );
}

#[test]
fn call_state_active() {
    check(&[0x14, 0x01, 0x0a], CallState::new(CallStateValue::ACTIVE));
    check(&[0x14, 0x01, 0x3d], CallState::new(CallStateValue::REST1));
}

#[test]
fn channel_id_pri_b1_exclusive() {
    // Figure 4-18: octet 3 = ext, no interface id, primary, exclusive, selection 01;
    // octet 3.2 = ext, ITU-T, number, B-channel units; octet 3.3 = channel 1 (last).
    let c = ChannelId::pri_b_channel(1, true);
    check(&[0x18, 0x03, 0xa9, 0x83, 0x81], c.clone());
    assert_eq!(c.b_channels(), vec![1]);
}

#[test]
fn channel_id_bri_and_any() {
    let bri = ChannelId {
        interface_id: None,
        primary: false,
        exclusive: false,
        d_channel: false,
        selection: 1,
        channel: None,
    };
    check(&[0x18, 0x01, 0x81], bri.clone());
    assert_eq!(bri.b_channels(), vec![1]);
    let any = ChannelId {
        primary: true,
        selection: 3,
        ..bri
    };
    check(&[0x18, 0x01, 0xa3], any.clone());
    assert!(any.b_channels().is_empty());
}

#[test]
fn channel_id_interface_and_slot_map() {
    let with_iid = ChannelId {
        interface_id: Some(vec![1]),
        primary: true,
        exclusive: true,
        d_channel: false,
        selection: 1,
        channel: Some(ChannelSpec {
            coding_standard: CodingStandard::ITU_T,
            map: false,
            channel_type: ChannelType::B_CHANNEL,
            channels: vec![5, 6],
        }),
    };
    check(&[0x18, 0x05, 0xe9, 0x81, 0x83, 0x05, 0x86], with_iid);
    let map = ChannelId {
        interface_id: None,
        primary: true,
        exclusive: false,
        d_channel: false,
        selection: 1,
        channel: Some(ChannelSpec {
            coding_standard: CodingStandard::ITU_T,
            map: true,
            channel_type: ChannelType::B_CHANNEL,
            channels: vec![0x00, 0x00, 0x01],
        }),
    };
    check(&[0x18, 0x05, 0xa1, 0x93, 0x00, 0x00, 0x01], map);
}

#[test]
fn progress_inband() {
    check(
        &[0x1e, 0x02, 0x82, 0x88],
        ProgressIndicator::new(
            Location::PUBLIC_LOCAL,
            ProgressDescription::INBAND_AVAILABLE,
        ),
    );
    check(
        &[0x1e, 0x02, 0x85, 0x83],
        ProgressIndicator::new(
            Location::PRIVATE_REMOTE,
            ProgressDescription::ORIGINATION_NON_ISDN,
        ),
    );
}

#[test]
fn display_and_keypad() {
    check(
        &[0x28, 0x05, b'A', b'l', b'i', b'c', b'e'],
        Display::new("Alice"),
    );
    assert_eq!(Display::new("Alice").text(), "Alice");
    // Latin-1 octets read back as characters.
    assert_eq!(
        Display {
            octets: vec![0x4a, 0xf6]
        }
        .text(),
        "J\u{f6}"
    );
    check(&[0x2c, 0x01, b'5'], KeypadFacility::new("5"));
    assert!(KeypadFacility::decode(&element(&[0x2c, 0x01, 0xb5])).is_err());
}

#[test]
fn signal_ringback() {
    check(&[0x34, 0x01, 0x01], Signal(SignalValue::RINGBACK_TONE));
    check(&[0x34, 0x01, 0x3f], Signal(SignalValue::TONES_OFF));
}

#[test]
fn calling_party_number_with_octet_3a() {
    // Figure 4-16: octet 3 ext 0, unknown/unknown; octet 3a allowed, user-provided.
    let mut n = num("3333", TypeOfNumber::UNKNOWN, NumberingPlan::UNKNOWN);
    n.presentation = Some(Presentation::ALLOWED);
    n.screening = Some(Screening::USER_NOT_SCREENED);
    check(
        &[0x6c, 0x06, 0x00, 0x80, b'3', b'3', b'3', b'3'],
        CallingPartyNumber(n),
    );
    // International/ISDN, restricted, network provided.
    let mut n = num("4930", TypeOfNumber::INTERNATIONAL, NumberingPlan::ISDN);
    n.presentation = Some(Presentation::RESTRICTED);
    n.screening = Some(Screening::NETWORK_PROVIDED);
    check(
        &[0x6c, 0x06, 0x11, 0xa3, b'4', b'9', b'3', b'0'],
        CallingPartyNumber(n),
    );
    // No octet 3a.
    let n = num("123", TypeOfNumber::NATIONAL, NumberingPlan::ISDN);
    check(&[0x6c, 0x04, 0xa1, b'1', b'2', b'3'], CallingPartyNumber(n));
}

#[test]
fn called_party_number() {
    // Figure 4-14: octet 3 ext 1, type/plan; IA5 digits.
    check(
        &[0x70, 0x05, 0x80, b'1', b'0', b'0', b'1'],
        CalledPartyNumber(num("1001", TypeOfNumber::UNKNOWN, NumberingPlan::UNKNOWN)),
    );
    check(
        &[0x70, 0x04, 0xa1, b'*', b'1', b'#'],
        CalledPartyNumber(num("*1#", TypeOfNumber::NATIONAL, NumberingPlan::ISDN)),
    );
    // Octet 3a is not allowed in the called party number.
    assert!(CalledPartyNumber::decode(&element(&[0x70, 0x03, 0x00, 0x80, b'1'])).is_err());
    // Neither are non-digits.
    assert!(CalledPartyNumber::decode(&element(&[0x70, 0x02, 0x80, b'x'])).is_err());
}

#[test]
fn connected_number() {
    check(
        &[0x4c, 0x05, 0x81, b'1', b'2', b'3', b'4'],
        ConnectedNumber(num("1234", TypeOfNumber::UNKNOWN, NumberingPlan::ISDN)),
    );
}

#[test]
fn redirecting_number_with_reason() {
    // Octet 3 ext 0 (national/ISDN), 3a ext 0 (allowed, network provided), 3b reason 15.
    let mut n = num("555", TypeOfNumber::NATIONAL, NumberingPlan::ISDN);
    n.presentation = Some(Presentation::ALLOWED);
    n.screening = Some(Screening::NETWORK_PROVIDED);
    check(
        &[0x74, 0x06, 0x21, 0x03, 0x8f, b'5', b'5', b'5'],
        RedirectingNumber {
            number: n.clone(),
            reason: Some(RedirectionReason::UNCONDITIONAL),
        },
    );
    // Octet 3a only.
    check(
        &[0x74, 0x05, 0x21, 0x83, b'5', b'5', b'5'],
        RedirectingNumber {
            number: n,
            reason: None,
        },
    );
}

#[test]
fn user_user_both_dialects() {
    let uu = UserUser {
        protocol: UserUser::H225,
        data: vec![1, 2, 3],
    };
    check(&[0x7e, 0x04, 0x05, 1, 2, 3], uu.clone());
    let h225 = [
        0x08, 0x02, 0x00, 0x01, 0x05, 0x7e, 0x00, 0x04, 0x05, 1, 2, 3,
    ];
    let m = Message::decode(&h225, Dialect::H225).unwrap();
    assert_eq!(m.get::<UserUser>().unwrap().unwrap(), uu);
    assert_eq!(m.encode(), h225);
}

#[test]
fn facility_rose() {
    check(
        &[0x1c, 0x04, 0x91, 0xa1, 0x01, 0x00],
        Facility {
            profile: Facility::ROSE,
            components: vec![0xa1, 0x01, 0x00],
        },
    );
}

#[test]
fn notification_indicator() {
    check(
        &[0x27, 0x01, 0x80],
        NotificationIndicator::new(NotificationDescription::USER_SUSPENDED),
    );
    check(
        &[0x27, 0x01, 0xf9],
        NotificationIndicator::new(NotificationDescription::REMOTE_HOLD),
    );
}

#[test]
fn date_time() {
    let dt = DateTime {
        year: 24,
        month: 11,
        day: 26,
        hour: Some(14),
        minute: Some(30),
        second: None,
    };
    check(&[0x29, 0x05, 24, 11, 26, 14, 30], dt);
    check(
        &[0x29, 0x03, 24, 11, 26],
        DateTime {
            hour: None,
            minute: None,
            ..dt
        },
    );
    assert!(DateTime::decode(&element(&[0x29, 0x02, 24, 11])).is_err());
}

#[test]
fn restart_indicator() {
    check(
        &[0x79, 0x01, 0x87],
        RestartIndicator(RestartClass::ALL_INTERFACES),
    );
    check(
        &[0x79, 0x01, 0x80],
        RestartIndicator(RestartClass::INDICATED_CHANNELS),
    );
}

#[test]
fn compatibility_elements_are_opaque() {
    check(
        &[0x7d, 0x02, 0x91, 0x81],
        HighLayerCompatibility(vec![0x91, 0x81]),
    );
    check(
        &[0x7c, 0x03, 0x88, 0x90, 0xa1],
        LowLayerCompatibility(vec![0x88, 0x90, 0xa1]),
    );
}

#[test]
fn single_octet_elements() {
    check(&[0xa1], SendingComplete);
    check(&[0xa0], MoreData);
    check(&[0xbf], CongestionLevel(15));
    check(&[0xd2], RepeatIndicator(2));
    check(
        &[0x96],
        Shift {
            locking: true,
            codeset: 6,
        },
    );
    check(
        &[0x9e],
        Shift {
            locking: false,
            codeset: 6,
        },
    );
    assert_eq!(IeId::key_of(0x9e), IeId::SHIFT);
    assert_eq!(IeId::key_of(0xa1), IeId::SENDING_COMPLETE);
}

#[test]
fn wrong_identifier_is_reported() {
    let ie = element(&[0x14, 0x01, 0x0a]);
    assert_eq!(
        CauseIe::decode(&ie).unwrap_err().kind,
        IeErrorKind::WrongIdentifier
    );
}

#[test]
fn registry_has_one_row_per_identifier() {
    use mapping::q931::registry::REGISTRY;
    for (i, a) in REGISTRY.iter().enumerate() {
        assert!(a.id.name().is_some(), "{:?} has a name", a.id);
        for b in &REGISTRY[i + 1..] {
            assert_ne!(a.id, b.id, "registered twice");
        }
    }
    let ie = element(&[0x08, 0x02, 0x81, 0x90]);
    match ie.typed() {
        Some(Ok(v)) => {
            assert_eq!(v.id(), IeId::CAUSE);
            assert_eq!(v.encode(), ie);
        }
        other => panic!("{other:?}"),
    }
}
