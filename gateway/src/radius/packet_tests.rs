use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
        .collect()
}

#[test]
fn password_hiding_matches_rfc_2865_section_7_1() {
    // RFC 2865 §7.1: user nemo, password "arctangent", secret "xyzzy5461".
    let ra: [u8; 16] = hex("0f403f9473978057bd83d5cb98f4227a")
        .try_into()
        .expect("16");
    let hidden = hide_password(b"arctangent", b"xyzzy5461", &ra);
    assert_eq!(hidden, hex("0dbe708d93d413ce3196e43f782a0aee"));
    assert_eq!(reveal_password(&hidden, b"xyzzy5461", &ra), b"arctangent");
}

#[test]
fn long_passwords_chain_blocks() {
    let ra = [7u8; 16];
    let pw = b"a password that is longer than one block of sixteen";
    let hidden = hide_password(pw, b"s", &ra);
    assert_eq!(hidden.len(), 64);
    assert_eq!(reveal_password(&hidden, b"s", &ra), pw);
}

fn sample() -> Packet {
    Packet {
        code: Code::ACCOUNTING_REQUEST,
        identifier: 42,
        authenticator: [0; 16],
        attrs: vec![
            Attr::int(AttrType::ACCT_STATUS_TYPE, 1),
            Attr::text(AttrType::ACCT_SESSION_ID, "abc-1"),
            Attr::cisco(
                CiscoAttr::H323_CONF_ID,
                "01234567 89ABCDEF 01234567 89ABCDEF",
            ),
            Attr::cisco(CiscoAttr::AVPAIR, "call-id=x@y"),
        ],
    }
}

#[test]
fn vendor_attributes_round_trip_and_carry_their_names() {
    let p = sample();
    let bytes = p.encode();
    let back = Packet::decode(&bytes).expect("decodes");
    assert_eq!(back, p);
    assert_eq!(
        back.get_cisco(CiscoAttr::H323_CONF_ID).as_deref(),
        Some("01234567 89ABCDEF 01234567 89ABCDEF")
    );
    assert_eq!(
        back.get_cisco(CiscoAttr::AVPAIR).as_deref(),
        Some("call-id=x@y")
    );
    // Type 26, vendor 9, sub-type 24, "h323-conf-id=" prefix on the wire.
    let at = bytes
        .windows(6)
        .position(|w| w == [26, 56, 0, 0, 0, 9])
        .expect("VSA header");
    assert_eq!(bytes[at + 6], 24);
    assert!(bytes[at + 8..].starts_with(b"h323-conf-id="));
    let text = back.to_string();
    assert!(
        text.contains("h323-conf-id = \"h323-conf-id=01234567"),
        "{text}"
    );
    assert!(text.contains("Acct-Status-Type = 1"), "{text}");
}

#[test]
fn accounting_authenticator_verifies_and_detects_tampering() {
    let bytes = encode_accounting_request(&sample(), b"testing123");
    assert!(verify_accounting_request(&bytes, b"testing123"));
    assert!(!verify_accounting_request(&bytes, b"other"));
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(!verify_accounting_request(&bad, b"testing123"));
}

#[test]
fn access_exchange_with_message_authenticators() {
    let secret = b"testing123";
    let req = Packet {
        code: Code::ACCESS_REQUEST,
        identifier: 9,
        authenticator: [3; 16],
        attrs: vec![Attr::text(AttrType::USER_NAME, "2000")],
    };
    let bytes = encode_access_request(&req, Some(b"secret"), secret);
    let parsed = Packet::decode(&bytes).expect("decodes");
    assert_eq!(
        parsed.get(AttrType::MESSAGE_AUTHENTICATOR).map(<[u8]>::len),
        Some(16)
    );
    let hidden = parsed.get(AttrType::USER_PASSWORD).expect("password");
    assert_eq!(reveal_password(hidden, secret, &[3; 16]), b"secret");

    let accept = Packet {
        code: Code::ACCESS_ACCEPT,
        identifier: 9,
        authenticator: [0; 16],
        attrs: vec![
            Attr::int(AttrType::SESSION_TIMEOUT, 30),
            Attr::Std(AttrType::MESSAGE_AUTHENTICATOR, vec![0; 16]),
        ],
    };
    let answer = encode_response(&accept, &[3; 16], secret);
    assert_eq!(verify_response(&answer, &[3; 16], secret, true), Ok(()));
    assert_eq!(
        verify_response(&answer, &[4; 16], secret, true),
        Err(VerifyError::Authenticator)
    );
    assert_eq!(
        verify_response(&answer, &[3; 16], b"wrong", true),
        Err(VerifyError::Authenticator)
    );
    // Without Message-Authenticator: refused when required.
    let plain = Packet {
        attrs: vec![Attr::int(AttrType::SESSION_TIMEOUT, 30)],
        ..accept
    };
    let answer = encode_response(&plain, &[3; 16], secret);
    assert_eq!(verify_response(&answer, &[3; 16], secret, false), Ok(()));
    assert_eq!(
        verify_response(&answer, &[3; 16], secret, true),
        Err(VerifyError::MissingMessageAuthenticator)
    );
}

#[test]
fn a_forged_message_authenticator_is_refused() {
    let secret = b"k";
    let accept = Packet {
        code: Code::ACCESS_ACCEPT,
        identifier: 1,
        authenticator: [0; 16],
        attrs: vec![Attr::Std(AttrType::MESSAGE_AUTHENTICATOR, vec![0; 16])],
    };
    let mut bytes = encode_response(&accept, &[1; 16], secret);
    bytes[25] ^= 0xff;
    // Recompute the Response Authenticator so only the HMAC is wrong.
    let mut copy = bytes.clone();
    copy[4..20].copy_from_slice(&[1; 16]);
    let auth = md5(&[&copy, secret]);
    bytes[4..20].copy_from_slice(&auth);
    assert_eq!(
        verify_response(&bytes, &[1; 16], secret, true),
        Err(VerifyError::MessageAuthenticator)
    );
}

#[test]
fn malformed_input_is_an_error() {
    assert!(matches!(
        Packet::decode(&[1; 5]),
        Err(DecodeError::Truncated { .. })
    ));
    let mut p = sample().encode();
    p[3] = 19;
    p[2] = 0;
    assert_eq!(Packet::decode(&p), Err(DecodeError::BadLength(19)));
    let mut p = sample().encode();
    p[21] = 1; // first attribute length below 2
    assert!(matches!(
        Packet::decode(&p),
        Err(DecodeError::BadAttribute(20))
    ));
    // A Vendor-Specific with broken contents stays opaque.
    let mut raw = vec![4, 1, 0, 0];
    raw.extend_from_slice(&[0; 16]);
    raw.extend_from_slice(&[26, 8, 0, 0, 0, 9, 1, 9]);
    let len = raw.len() as u16;
    raw[2..4].copy_from_slice(&len.to_be_bytes());
    let p = Packet::decode(&raw).expect("decodes");
    assert_eq!(
        p.attrs,
        vec![Attr::Std(AttrType::VENDOR_SPECIFIC, vec![0, 0, 0, 9, 1, 9])]
    );
}

#[test]
fn over_long_values_are_cut_not_refused() {
    let p = Packet {
        code: Code::ACCOUNTING_REQUEST,
        identifier: 0,
        authenticator: [0; 16],
        attrs: vec![
            Attr::Std(AttrType::CLASS, vec![1; 400]),
            Attr::Vendor {
                vendor: VendorId::CISCO,
                typ: 1,
                value: vec![b'a'; 400],
            },
        ],
    };
    let back = Packet::decode(&p.encode()).expect("decodes");
    assert_eq!(back.get(AttrType::CLASS).map(<[u8]>::len), Some(MAX_VALUE));
}

fn arb_attr() -> impl Strategy<Value = Attr> {
    prop_oneof![
        (
            any::<u8>().prop_filter("not VSA", |t| *t != 26),
            proptest::collection::vec(any::<u8>(), 0..60)
        )
            .prop_map(|(t, v)| Attr::Std(AttrType(t), v)),
        (
            any::<u32>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..60)
        )
            .prop_map(|(vendor, typ, value)| Attr::Vendor {
                vendor: VendorId(vendor),
                typ,
                value
            }),
    ]
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Packet::decode(&bytes);
        let _ = verify_response(&bytes, &[0; 16], b"s", true);
        let _ = verify_accounting_request(&bytes, b"s");
    }

    #[test]
    fn encode_then_decode_is_identity(
        code in any::<u8>(),
        id in any::<u8>(),
        auth in any::<[u8; 16]>(),
        attrs in proptest::collection::vec(arb_attr(), 0..20),
    ) {
        let p = Packet { code: Code(code), identifier: id, authenticator: auth, attrs };
        prop_assert_eq!(Packet::decode(&p.encode()), Ok(p));
    }

    #[test]
    fn header_mutations_decode_or_fail_cleanly(
        attrs in proptest::collection::vec(arb_attr(), 0..8),
        at in 0usize..64,
        byte in any::<u8>(),
    ) {
        let p = Packet { code: Code(4), identifier: 1, authenticator: [0; 16], attrs };
        let mut b = p.encode();
        let i = at % b.len();
        b[i] = byte;
        let _ = Packet::decode(&b);
    }
}
