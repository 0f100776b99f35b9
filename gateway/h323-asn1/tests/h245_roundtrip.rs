//! H.245 encode/decode round trips of constructed messages (proptest), and fixed vectors
//! for the rasn 0.30 pitfalls the generated code is patched for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use h323_asn1::h245::{self, build::*, *};
use proptest::prelude::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// encode, decode, compare the value, re-encode, compare the bytes.
fn assert_round_trip(msg: &MultimediaSystemControlMessage) -> Vec<u8> {
    let bytes = h245::encode(msg).expect("encodes");
    let back = h245::decode(&bytes).expect("decodes");
    assert_eq!(&back, msg);
    assert_eq!(h245::encode(&back).expect("re-encodes"), bytes);
    bytes
}

// ------------------------------------------------------------------ fixed vectors

/// Constraint of a type reference on a SEQUENCE extension addition (`mcuNumber
/// McuNumber`, 0..192): one octet in the open type, not an unconstrained INTEGER.
#[test]
fn extension_addition_field_keeps_referenced_constraint() {
    let v = TerminalYouAreSeeingInSubPictureNumber::new(TerminalNumber(1), 2, Some(McuNumber(3)));
    let bytes = rasn::aper::encode(&v).expect("encodes");
    assert_eq!(hex(&bytes), "808002010103");
    assert_eq!(
        rasn::aper::decode::<TerminalYouAreSeeingInSubPictureNumber>(&bytes).expect("decodes"),
        v
    );
}

/// Constraint of a type reference on a CHOICE extension alternative
/// (`broadcastMyLogicalChannel LogicalChannelNumber`, 1..65535): two octets.
#[test]
fn extension_alternative_keeps_referenced_constraint() {
    let v = ConferenceRequest::broadcastMyLogicalChannel(LogicalChannelNumber(5));
    let bytes = rasn::aper::encode(&v).expect("encodes");
    assert_eq!(hex(&bytes), "83020004");
    assert_eq!(
        rasn::aper::decode::<ConferenceRequest>(&bytes).expect("decodes"),
        v
    );
}

/// `oneOfCapabilities AlternativeCapabilitySet` (SIZE (1..256)) as an extension
/// alternative: the length is a constrained one-octet count.
#[test]
fn extension_alternative_keeps_referenced_size_constraint() {
    let v = Capability::oneOfCapabilities(AlternativeCapabilitySet(vec![
        CapabilityTableEntryNumber(1),
        CapabilityTableEntryNumber(2),
    ]));
    let bytes = rasn::aper::encode(&v).expect("encodes");
    assert_eq!(hex(&bytes), "90050100000001");
    assert_eq!(
        rasn::aper::decode::<Capability>(&bytes).expect("decodes"),
        v
    );
}

/// A mandatory extension addition left out by an older peer (CloseLogicalChannel
/// without `reason`, as Cisco IOS sends it) decodes.
#[test]
fn mandatory_extension_addition_may_be_absent() {
    let msg = h245::decode(&[0x04, 0x00, 0x00, 0x00, 0x00]).expect("decodes");
    let MultimediaSystemControlMessage::request(RequestMessage::closeLogicalChannel(clc)) = &msg
    else {
        panic!("not a CloseLogicalChannel: {msg:?}");
    };
    assert_eq!(clc.forward_logical_channel_number, LogicalChannelNumber(1));
    assert_eq!(clc.reason, None);
    assert_eq!(
        h245::encode(&msg).expect("encodes"),
        [0x04, 0x00, 0x00, 0x00, 0x00]
    );
}

/// A message tshark decodes as endSessionCommand disconnect.
#[test]
fn end_session_vector() {
    assert_eq!(hex(&assert_round_trip(&end_session())), "4a40");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(h245::decode(&[]).is_err());
    assert!(h245::decode(&[0xff; 3]).is_err());
    assert!(h245::decode_open_logical_channel(&[0x80]).is_err());
}

#[test]
fn helpers_build_what_they_say() {
    let tcs = terminal_capability_set(
        1,
        &AudioTerminalCapabilities {
            codecs: vec![
                AudioCodec::G711Alaw { frames: 20 },
                AudioCodec::G711Ulaw { frames: 20 },
                AudioCodec::G729AnnexA { frames: 2 },
            ],
            telephone_event: Some((101, "0-16".into())),
            user_input: true,
        },
    );
    assert_round_trip(&tcs);
    let MultimediaSystemControlMessage::request(RequestMessage::terminalCapabilitySet(t)) = &tcs
    else {
        panic!("not a TCS");
    };
    let table = t.capability_table.as_ref().expect("table");
    assert_eq!(table.len(), 6);
    assert_eq!(
        table[0].capability,
        Some(Capability::receiveAudioCapability(
            AudioCapability::g711Alaw64k(20)
        ))
    );

    let rtp: SocketAddr = "192.0.2.10:16384".parse().expect("addr");
    let rtcp: SocketAddr = "192.0.2.10:16385".parse().expect("addr");
    let ch = AudioChannel {
        logical_channel: 1,
        codec: AudioCodec::G711Ulaw { frames: 20 },
        session_id: 1,
        media_channel: None,
        media_control_channel: Some(rtcp),
        silence_suppression: false,
    };
    let olc = audio_open_logical_channel(&ch);
    let bytes = encode_open_logical_channel(&olc).expect("encodes");
    assert_eq!(decode_open_logical_channel(&bytes).expect("decodes"), olc);
    assert_round_trip(&open_logical_channel(olc));
    let ack = open_logical_channel_ack(1, 1, rtp, rtcp);
    assert_round_trip(&ack);
    let MultimediaSystemControlMessage::response(ResponseMessage::openLogicalChannelAck(a)) = &ack
    else {
        panic!("not an OLC ack");
    };
    let Some(OpenLogicalChannelAckForwardMultiplexAckParameters::h2250LogicalChannelAckParameters(
        p,
    )) = &a.forward_multiplex_ack_parameters
    else {
        panic!("no H.225.0 ack parameters");
    };
    assert_eq!(p.media_channel.as_ref().and_then(socket_addr), Some(rtp));
    assert_eq!(
        p.media_control_channel.as_ref().and_then(socket_addr),
        Some(rtcp)
    );

    let uii = user_input_signal('5', Some(160)).expect("a DTMF digit");
    assert_round_trip(&uii);
    let MultimediaSystemControlMessage::indication(IndicationMessage::userInput(u)) = &uii else {
        panic!("not a UII");
    };
    assert_eq!(user_input_digits(u).as_deref(), Some("5"));
    assert!(user_input_signal('x', None).is_none());
    assert_round_trip(&user_input_alphanumeric("123#"));
    assert_round_trip(&master_slave_determination(60, 0x12_3456));
    assert_round_trip(&master_slave_determination_ack(true));
    assert_round_trip(&terminal_capability_set_ack(1));
    assert_round_trip(&close_logical_channel(2));
}

// ------------------------------------------------------------------ property tests

fn codec() -> impl Strategy<Value = AudioCodec> {
    prop_oneof![
        (1u16..=256).prop_map(|frames| AudioCodec::G711Alaw { frames }),
        (1u16..=256).prop_map(|frames| AudioCodec::G711Ulaw { frames }),
        (1u16..=256).prop_map(|frames| AudioCodec::G729 { frames }),
        (1u16..=256).prop_map(|frames| AudioCodec::G729AnnexA { frames }),
        (1u16..=256).prop_map(|frames| AudioCodec::G729AnnexAwAnnexB { frames }),
    ]
}

fn socket() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

proptest! {
    #[test]
    fn tcs_round_trips(
        seq in any::<u8>(),
        codecs in proptest::collection::vec(codec(), 0..8),
        te in proptest::option::of((96u8..=127, "[0-9,-]{1,10}")),
        user_input in any::<bool>(),
    ) {
        let caps = AudioTerminalCapabilities { codecs, telephone_event: te, user_input };
        assert_round_trip(&terminal_capability_set(seq, &caps));
    }

    #[test]
    fn olc_round_trips(
        lcn in 1u16..,
        codec in codec(),
        session in 1u8..,
        media in proptest::option::of(socket()),
        control in proptest::option::of(socket()),
        ss in any::<bool>(),
        ack_rtp in socket(),
        ack_rtcp in socket(),
    ) {
        let ch = AudioChannel {
            logical_channel: lcn,
            codec,
            session_id: session,
            media_channel: media,
            media_control_channel: control,
            silence_suppression: ss,
        };
        for olc in [audio_open_logical_channel(&ch), audio_fast_start_receive(&ch)] {
            let bytes = encode_open_logical_channel(&olc).expect("encodes");
            prop_assert_eq!(&decode_open_logical_channel(&bytes).expect("decodes"), &olc);
            assert_round_trip(&open_logical_channel(olc));
        }
        let ack = open_logical_channel_ack(lcn, session, ack_rtp, ack_rtcp);
        assert_round_trip(&ack);
        prop_assert_eq!(socket_addr(&build::transport_address(ack_rtp)), Some(ack_rtp));
    }

    #[test]
    fn uii_round_trips(
        text in "[0-9A-D#*]{1,32}",
        digit in proptest::sample::select("0123456789#*ABCD!".chars().collect::<Vec<_>>()),
        duration in proptest::option::of(1u16..),
    ) {
        assert_round_trip(&user_input_alphanumeric(&text));
        let uii = user_input_signal(digit, duration).expect("valid digit");
        assert_round_trip(&uii);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(msg) = h245::decode(&bytes) {
            if let Ok(again) = h245::encode(&msg) {
                prop_assert_eq!(h245::decode(&again).expect("re-encoded decodes"), msg);
            }
        }
        let _ = h245::decode_open_logical_channel(&bytes);
    }
}
