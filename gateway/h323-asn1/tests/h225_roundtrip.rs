//! Round trips of constructed H.225.0 messages (property tests), and test vectors for the
//! rasn 0.30 pitfalls of PEERS.md section 8 on real H.225.0 fields.

use h323_asn1::h225::{self, H323UUPDUH323MessageBody, RasMessage, TimeToLive};
use proptest::prelude::*;
use rasn::prelude::*;
use std::net::Ipv4Addr;

/// PEERS.md section 8: `SEQUENCE { flag BOOLEAN, ..., extra INTEGER (0..255) OPTIONAL }`
/// with TRUE, 42 is `c040012a` when the constraint is written on the field.
#[derive(AsnType, Encode, Decode, Debug, PartialEq)]
#[rasn(automatic_tags)]
#[non_exhaustive]
struct Probe {
    flag: bool,
    #[rasn(extension_addition, value("0..=255"))]
    extra: Option<u8>,
}

#[test]
fn extension_addition_constraint_vector_of_peers_md() {
    let bytes = rasn::aper::encode(&Probe {
        flag: true,
        extra: Some(42),
    })
    .expect("encodes");
    assert_eq!(bytes, [0xc0, 0x40, 0x01, 0x2a]);
}

fn rcf_with_ttl(ttl: u32) -> RasMessage {
    let mut rcf = h225::registration_confirm(
        7,
        vec![h225::ipv4_address(Ipv4Addr::new(192, 0, 2, 1), 1720)],
        h225::endpoint_identifier("EP1").expect("BMP"),
    );
    if let RasMessage::registrationConfirm(r) = &mut rcf {
        r.time_to_live = Some(TimeToLive(ttl));
    }
    rcf
}

/// The same pitfall on RCF `timeToLive INTEGER (1..4294967295)` (an extension addition
/// of a constrained type): 300 is the open type `03 40 01 2b` (length 3; 2-bit octet
/// count 1 = two octets; 300 - 1 = 0x012b), not the unconstrained `02 01 2c`.
#[test]
fn rcf_time_to_live_is_encoded_constrained() {
    let bytes = h225::encode_ras(&rcf_with_ttl(300)).expect("encodes");
    assert!(
        bytes.windows(4).any(|w| w == [0x03, 0x40, 0x01, 0x2b]),
        "constrained timeToLive missing in {bytes:02x?}"
    );
    assert!(!bytes.windows(3).any(|w| w == [0x02, 0x01, 0x2c]));
    assert_eq!(
        h225::decode_ras(&bytes).expect("decodes"),
        rcf_with_ttl(300)
    );
    // Out of range is refused on encode.
    assert!(h225::encode_ras(&rcf_with_ttl(0)).is_err());
}

/// BMPString from text goes through UTF-16BE (PEERS.md section 8), both ways.
#[test]
fn bmp_strings_are_utf16() {
    let s = h225::bmp_string("Gwénaël €").expect("BMP");
    assert_eq!(
        s.to_bytes(),
        [
            0, b'G', 0, b'w', 0, 0xe9, 0, b'n', 0, b'a', 0, 0xeb, 0, b'l', 0, b' ', 0x20, 0xac
        ]
    );
    assert_eq!(h225::bmp_to_string(&s), "Gwénaël €");
    assert!(h225::bmp_string("emoji 🎉").is_err());
}

fn setup_with(
    fast_start: Vec<Vec<u8>>,
    alias: &str,
    tunnelling: bool,
) -> h225::H323UserInformation {
    let mut setup = h225::setup_uuie(
        h225::terminal_endpoint(),
        h225::conference_identifier([0x11; 16]),
        h225::call_identifier([0x22; 16]),
    );
    setup.fast_start =
        (!fast_start.is_empty()).then(|| fast_start.into_iter().map(OctetString::from).collect());
    setup.source_address = Some(vec![h225::h323_id(alias).expect("BMP alias")]);
    setup.destination_address = h225::dialed_digits("4155550100").map(|a| vec![a]);
    h225::user_information(H323UUPDUH323MessageBody::setup(setup), tunnelling)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Setup with fastStart OCTET STRINGs (each one an encoded OpenLogicalChannel on the
    /// wire; any bytes here) and an h323-ID round-trips through aligned PER.
    #[test]
    fn setup_with_fast_start_round_trips(
        fast_start in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..64), 0..4),
        alias in "[a-zA-Z0-9 éü€]{1,20}",
        tunnelling in any::<bool>(),
    ) {
        let msg = setup_with(fast_start, &alias, tunnelling);
        let bytes = h225::encode_user_information(&msg).expect("encodes");
        let back = h225::decode_user_information(&bytes).expect("decodes");
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(h225::encode_user_information(&back).expect("encodes"), bytes);
    }

    /// RCF with any valid timeToLive round-trips, and re-encodes to the same bytes.
    #[test]
    fn rcf_time_to_live_round_trips(ttl in 1u32..=u32::MAX) {
        let msg = rcf_with_ttl(ttl);
        let bytes = h225::encode_ras(&msg).expect("encodes");
        let back = h225::decode_ras(&bytes).expect("decodes");
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(h225::encode_ras(&back).expect("encodes"), bytes);
    }
}
