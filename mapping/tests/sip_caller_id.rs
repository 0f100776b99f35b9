//! Caller ID between SIP identity headers and party numbers (RFC 3323, RFC 3325,
//! draft-ietf-sip-privacy RPID), one test per combination of the tables in
//! `mapping::sip::caller_id`.

use mapping::number::{NumberingPlan as Npi, PartyNumber, Presentation, Screening, TypeOfNumber};
use mapping::sip::caller_id::{
    ANONYMOUS_FROM, IdentityUriForm, UNAVAILABLE_FROM, caller_from_sip, caller_to_sip,
};
use mapping::sip::{IdentitySource, NumberForm, SipIdentityIn, SipIdentityPolicy};

const INTL: (TypeOfNumber, Npi) = (TypeOfNumber::INTERNATIONAL, Npi::ISDN);
const NATL: (TypeOfNumber, Npi) = (TypeOfNumber::NATIONAL, Npi::ISDN);
const SUBS: (TypeOfNumber, Npi) = (TypeOfNumber::SUBSCRIBER, Npi::ISDN);
const UNKN: (TypeOfNumber, Npi) = (TypeOfNumber::UNKNOWN, Npi::UNKNOWN);

const ALLOWED: Presentation = Presentation::ALLOWED;
const RESTRICTED: Presentation = Presentation::RESTRICTED;
const NOT_AVAILABLE: Presentation = Presentation::NOT_AVAILABLE;

const NETWORK: Screening = Screening::NETWORK_PROVIDED;
const NOT_SCREENED: Screening = Screening::USER_NOT_SCREENED;
const VERIFIED: Screening = Screening::USER_VERIFIED_PASSED;

struct In {
    trusted: bool,
    from: &'static str,
    pai: Option<&'static str>,
    rpid: Option<&'static str>,
    privacy: Option<&'static str>,
}

const BASE: In = In {
    trusted: false,
    from: "",
    pai: None,
    rpid: None,
    privacy: None,
};

struct Out {
    digits: &'static str,
    kind: (TypeOfNumber, Npi),
    presentation: Presentation,
    screening: Screening,
    display: Option<&'static str>,
    source: IdentitySource,
}

fn check(input: In, form: &NumberForm, out: Out) {
    let h = SipIdentityIn {
        from: input.from,
        p_asserted_identity: input.pai,
        remote_party_id: input.rpid,
        privacy: input.privacy,
    };
    let got = caller_from_sip(&h, input.trusted, form);
    assert_eq!(got.number.digits.as_str(), out.digits, "digits");
    assert_eq!((got.number.ton, got.number.npi), out.kind, "ton/npi");
    assert_eq!(
        got.number.presentation,
        Some(out.presentation),
        "presentation"
    );
    assert_eq!(got.number.screening, Some(out.screening), "screening");
    assert_eq!(got.display_name.as_deref(), out.display, "display");
    assert_eq!(got.source, out.source, "source");
}

/// One test per ingress case, default number form ("0" national, "00" international).
macro_rules! ingress {
    ($($name:ident: $input:expr => $out:expr;)*) => {
        $( #[test] fn $name() { check($input, &NumberForm::default(), $out) } )*
    };
}

use IdentitySource::{
    From as SrcFrom, None as SrcNone, PAssertedIdentity as SrcPai, RemotePartyId as SrcRpid,
};

ingress! {
    // ---- From only: number forms ----
    from_e164_user_phone_untrusted: In { from: r#""Alice" <sip:+4930123456@peer;user=phone>;tag=1"#, ..BASE }
        => Out { digits: "4930123456", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: Some("Alice"), source: SrcFrom };
    from_e164_without_user_phone: In { from: "<sip:+4930123456@peer>", ..BASE }
        => Out { digits: "4930123456", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_national_prefix: In { from: "<sip:0301234@peer>", ..BASE }
        => Out { digits: "301234", kind: NATL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_international_prefix: In { from: "sip:0049301234@peer;tag=9", ..BASE }
        => Out { digits: "49301234", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_plain_digits_unknown: In { from: "<sip:1234567@peer>", ..BASE }
        => Out { digits: "1234567", kind: UNKN, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_tel_uri_with_visual_separators: In { from: "<tel:+49-30-1234>", ..BASE }
        => Out { digits: "49301234", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_user_phone_with_separators: In { from: "<sip:+49(30)12.34@peer;user=phone>", ..BASE }
        => Out { digits: "49301234", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_percent_encoded_plus_and_hash: In { from: "<sip:%2B4930*31%23@peer>", ..BASE }
        => Out { digits: "4930*31#", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    from_name_is_not_a_number: In { from: r#""Alice" <sip:alice@example.com>"#, ..BASE }
        => Out { digits: "", kind: UNKN, presentation: NOT_AVAILABLE, screening: NETWORK, display: Some("Alice"), source: SrcNone };
    from_hex_looking_name_is_not_a_number: In { from: "<sip:bad@example.com>", ..BASE }
        => Out { digits: "", kind: UNKN, presentation: NOT_AVAILABLE, screening: NETWORK, display: None, source: SrcNone };
    from_unparsable: In { from: "garbage <", ..BASE }
        => Out { digits: "", kind: UNKN, presentation: NOT_AVAILABLE, screening: NETWORK, display: None, source: SrcNone };

    // ---- anonymous From ----
    anonymous_from_no_pai: In { from: ANONYMOUS_FROM, ..BASE }
        => Out { digits: "", kind: UNKN, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcNone };
    anonymous_from_untrusted_pai_privacy_id: In { from: ANONYMOUS_FROM, pai: Some("<sip:+4930999@core>"), privacy: Some("id"), ..BASE }
        => Out { digits: "", kind: UNKN, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcNone };
    anonymous_from_trusted_pai_privacy_id: In { trusted: true, from: ANONYMOUS_FROM, pai: Some(r#""Bob" <sip:+4930999@core>"#), privacy: Some("id"), ..BASE }
        => Out { digits: "4930999", kind: INTL, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcPai };
    anonymous_from_trusted_pai_no_privacy_header: In { trusted: true, from: ANONYMOUS_FROM, pai: Some("<tel:+4930999>"), ..BASE }
        => Out { digits: "4930999", kind: INTL, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcPai };
    anonymous_from_with_privacy_none_still_restricted: In { from: "<sip:anonymous@anonymous.invalid>", privacy: Some("none"), ..BASE }
        => Out { digits: "", kind: UNKN, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcNone };
    anonymous_by_host_only: In { from: r#""Anonymous" <sip:+4930123@anonymous.invalid>"#, ..BASE }
        => Out { digits: "", kind: UNKN, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcNone };
    unavailable_from_reads_back_as_not_available: In { from: UNAVAILABLE_FROM, ..BASE }
        => Out { digits: "", kind: UNKN, presentation: NOT_AVAILABLE, screening: NETWORK, display: None, source: SrcNone };

    // ---- P-Asserted-Identity x trust ----
    trusted_pai_wins_over_from: In { trusted: true, from: r#""Alice" <sip:+4930123@peer>"#, pai: Some("<sip:+4930999@core;user=phone>"), ..BASE }
        => Out { digits: "4930999", kind: INTL, presentation: ALLOWED, screening: NETWORK, display: Some("Alice"), source: SrcPai };
    untrusted_pai_is_ignored: In { trusted: false, from: r#""Alice" <sip:+4930123@peer>"#, pai: Some(r#""Mallory" <sip:+4930999@core>"#), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: Some("Alice"), source: SrcFrom };
    trusted_pai_display_preferred: In { trusted: true, from: r#""From Name" <sip:+4930123@peer>"#, pai: Some(r#""PAI Name" <sip:+4930999@core>"#), ..BASE }
        => Out { digits: "4930999", kind: INTL, presentation: ALLOWED, screening: NETWORK, display: Some("PAI Name"), source: SrcPai };
    trusted_pai_two_values_sip_first: In { trusted: true, from: "<sip:x@peer>", pai: Some(r#""Carol" <sip:+4930111@core>, <tel:+4930222>"#), ..BASE }
        => Out { digits: "4930111", kind: INTL, presentation: ALLOWED, screening: NETWORK, display: Some("Carol"), source: SrcPai };
    trusted_pai_name_then_tel: In { trusted: true, from: "<sip:x@peer>", pai: Some(r#""Carol" <sip:carol@core>, <tel:+4930222>"#), ..BASE }
        => Out { digits: "4930222", kind: INTL, presentation: ALLOWED, screening: NETWORK, display: Some("Carol"), source: SrcPai };
    trusted_pai_without_number_falls_back_to_from: In { trusted: true, from: "<sip:0301234@peer>", pai: Some("<sip:carol@core>"), ..BASE }
        => Out { digits: "301234", kind: NATL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    trusted_pai_national_tel_with_phone_context: In { trusted: true, from: "<sip:x@peer>", pai: Some("<tel:0301234;phone-context=+49>"), ..BASE }
        => Out { digits: "301234", kind: NATL, presentation: ALLOWED, screening: NETWORK, display: None, source: SrcPai };

    // ---- Privacy values ----
    privacy_none_allows: In { from: r#""Alice" <sip:+4930123@peer>"#, privacy: Some("none"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: Some("Alice"), source: SrcFrom };
    privacy_id_restricts_from_number: In { from: r#""Alice" <sip:+4930123@peer>"#, privacy: Some("id"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: RESTRICTED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    privacy_user_restricts: In { from: r#""Alice" <sip:+4930123@peer>"#, privacy: Some("user"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: RESTRICTED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    privacy_header_restricts: In { from: "<sip:+4930123@peer>", privacy: Some("header"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: RESTRICTED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    privacy_session_does_not_restrict: In { from: r#""Alice" <sip:+4930123@peer>"#, privacy: Some("session"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: Some("Alice"), source: SrcFrom };
    privacy_critical_alone_does_not_restrict: In { from: "<sip:+4930123@peer>", privacy: Some("critical"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    privacy_id_critical_trusted_pai: In { trusted: true, from: ANONYMOUS_FROM, pai: Some(r#""Bob" <sip:+4930999@core>"#), privacy: Some("id;critical"), ..BASE }
        => Out { digits: "4930999", kind: INTL, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcPai };
    privacy_case_insensitive_and_comma_separated: In { from: "<sip:+4930123@peer>", privacy: Some("session, ID"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: RESTRICTED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    privacy_none_and_id_restrictive_wins: In { from: "<sip:+4930123@peer>", privacy: Some("none;id"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: RESTRICTED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    privacy_unknown_token_ignored: In { from: "<sip:+4930123@peer>", privacy: Some("history"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };

    // ---- Remote-Party-ID ----
    rpid_trusted_screen_yes: In { trusted: true, from: "<sip:+4930123@peer>", rpid: Some(r#""Dave" <sip:+4930777@pbx;user=phone>;party=calling;screen=yes;privacy=off"#), ..BASE }
        => Out { digits: "4930777", kind: INTL, presentation: ALLOWED, screening: VERIFIED, display: Some("Dave"), source: SrcRpid };
    rpid_untrusted_screen_yes_not_believed: In { trusted: false, from: "<sip:+4930123@peer>", rpid: Some("<sip:+4930777@pbx>;party=calling;screen=yes"), ..BASE }
        => Out { digits: "4930777", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcRpid };
    rpid_trusted_screen_no: In { trusted: true, from: "<sip:+4930123@peer>", rpid: Some("<sip:+4930777@pbx>;party=calling;screen=no"), ..BASE }
        => Out { digits: "4930777", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcRpid };
    rpid_privacy_full: In { trusted: true, from: ANONYMOUS_FROM, rpid: Some(r#""Dave" <sip:+4930777@pbx>;party=calling;screen=yes;privacy=full"#), ..BASE }
        => Out { digits: "4930777", kind: INTL, presentation: RESTRICTED, screening: VERIFIED, display: None, source: SrcRpid };
    rpid_privacy_uri: In { trusted: true, from: r#""Dave" <sip:+4930123@peer>"#, rpid: Some(r#""Dave" <sip:+4930777@pbx>;privacy=uri"#), ..BASE }
        => Out { digits: "4930777", kind: INTL, presentation: RESTRICTED, screening: NOT_SCREENED, display: None, source: SrcRpid };
    rpid_privacy_name_hides_name_only: In { trusted: true, from: r#""Dave" <sip:+4930123@peer>"#, rpid: Some(r#""Dave" <sip:0301234@pbx>;privacy=NAME;party=Calling"#), ..BASE }
        => Out { digits: "301234", kind: NATL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcRpid };
    rpid_called_party_ignored: In { trusted: true, from: "<sip:+4930123@peer>", rpid: Some("<sip:+4930777@pbx>;party=called"), ..BASE }
        => Out { digits: "4930123", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcFrom };
    rpid_calling_value_picked_from_several: In { trusted: true, from: "<sip:x@peer>", rpid: Some("<sip:+4930777@pbx>;party=called, <sip:+4930888@pbx>;party=calling;screen=yes"), ..BASE }
        => Out { digits: "4930888", kind: INTL, presentation: ALLOWED, screening: VERIFIED, display: None, source: SrcRpid };
    trusted_pai_wins_over_rpid_but_rpid_privacy_applies: In { trusted: true, from: "<sip:+4930123@peer>", pai: Some("<sip:+4930999@core>"), rpid: Some("<sip:+4930777@pbx>;party=calling;privacy=full"), ..BASE }
        => Out { digits: "4930999", kind: INTL, presentation: RESTRICTED, screening: NETWORK, display: None, source: SrcPai };
    untrusted_pai_and_rpid_rpid_used: In { trusted: false, from: "<sip:+4930123@peer>", pai: Some("<sip:+4930999@core>"), rpid: Some("<sip:+4930777@pbx>;party=calling;screen=yes"), ..BASE }
        => Out { digits: "4930777", kind: INTL, presentation: ALLOWED, screening: NOT_SCREENED, display: None, source: SrcRpid };
}

#[test]
fn number_form_plain_is_subscriber() {
    let form = NumberForm {
        plain_is_subscriber: true,
        ..NumberForm::default()
    };
    check(
        In {
            from: "<sip:1234567@peer>",
            ..BASE
        },
        &form,
        Out {
            digits: "1234567",
            kind: SUBS,
            presentation: ALLOWED,
            screening: NOT_SCREENED,
            display: None,
            source: SrcFrom,
        },
    );
}

#[test]
fn number_form_nanp_prefixes() {
    let form = NumberForm::new("1", "011");
    check(
        In {
            from: "<sip:01149301234@peer>",
            ..BASE
        },
        &form,
        Out {
            digits: "49301234",
            kind: INTL,
            presentation: ALLOWED,
            screening: NOT_SCREENED,
            display: None,
            source: SrcFrom,
        },
    );
    check(
        In {
            from: "<sip:12125551234@peer>",
            ..BASE
        },
        &form,
        Out {
            digits: "2125551234",
            kind: NATL,
            presentation: ALLOWED,
            screening: NOT_SCREENED,
            display: None,
            source: SrcFrom,
        },
    );
}

#[test]
fn number_form_without_prefixes() {
    let form = NumberForm::new("", "");
    check(
        In {
            from: "<sip:0049301234@peer>",
            ..BASE
        },
        &form,
        Out {
            digits: "0049301234",
            kind: UNKN,
            presentation: ALLOWED,
            screening: NOT_SCREENED,
            display: None,
            source: SrcFrom,
        },
    );
}

// ---------------------------------------------------------------------------------------
// Call model -> SIP
// ---------------------------------------------------------------------------------------

fn number(
    digits: &str,
    ton: TypeOfNumber,
    presentation: Option<Presentation>,
    screening: Option<Screening>,
) -> PartyNumber {
    PartyNumber {
        digits: digits.parse().unwrap(),
        ton,
        npi: if ton == TypeOfNumber::UNKNOWN {
            Npi::UNKNOWN
        } else {
            Npi::ISDN
        },
        presentation,
        screening,
    }
}

fn policy(trusted: bool) -> SipIdentityPolicy {
    SipIdentityPolicy::new("gw.example", trusted)
}

const ALICE_SIP: &str = r#""Alice" <sip:+4930123@gw.example;user=phone>"#;

#[test]
fn egress_allowed_international_untrusted() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(ALLOWED),
        Some(NETWORK),
    );
    let out = caller_to_sip(
        Some(&n),
        Some("Alice"),
        &policy(false),
        &NumberForm::default(),
    );
    assert_eq!(out.from, ALICE_SIP);
    assert_eq!(out.p_asserted_identity, None);
    assert_eq!(out.privacy, None);
    assert_eq!(out.remote_party_id, None);
}

#[test]
fn egress_allowed_international_trusted_sends_pai() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(ALLOWED),
        Some(NETWORK),
    );
    let out = caller_to_sip(
        Some(&n),
        Some("Alice"),
        &policy(true),
        &NumberForm::default(),
    );
    assert_eq!(out.from, ALICE_SIP);
    assert_eq!(out.p_asserted_identity.as_deref(), Some(ALICE_SIP));
    assert_eq!(out.privacy, None);
}

#[test]
fn egress_presentation_unstated_is_allowed() {
    let n = number("4930123", TypeOfNumber::INTERNATIONAL, None, None);
    let out = caller_to_sip(
        Some(&n),
        Some("Alice"),
        &policy(false),
        &NumberForm::default(),
    );
    assert_eq!(out.from, ALICE_SIP);
}

#[test]
fn egress_restricted_trusted_anonymous_from_real_pai_privacy_id() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(RESTRICTED),
        Some(NETWORK),
    );
    let out = caller_to_sip(
        Some(&n),
        Some("Alice"),
        &policy(true),
        &NumberForm::default(),
    );
    assert_eq!(out.from, ANONYMOUS_FROM);
    assert_eq!(out.p_asserted_identity.as_deref(), Some(ALICE_SIP));
    assert_eq!(out.privacy.as_deref(), Some("id"));
}

#[test]
fn egress_restricted_untrusted_reveals_nothing() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(RESTRICTED),
        Some(NETWORK),
    );
    let mut p = policy(false);
    p.send_rpid = true;
    let out = caller_to_sip(Some(&n), Some("Alice"), &p, &NumberForm::default());
    assert_eq!(out.from, ANONYMOUS_FROM);
    assert_eq!(out.p_asserted_identity, None);
    assert_eq!(out.remote_party_id, None);
    assert_eq!(out.privacy.as_deref(), Some("id"));
    for text in [&out.from, out.privacy.as_ref().unwrap()] {
        assert!(!text.contains("4930123") && !text.contains("Alice"));
    }
}

#[test]
fn egress_restricted_critical() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(RESTRICTED),
        Some(NETWORK),
    );
    let mut p = policy(true);
    p.privacy_critical = true;
    let out = caller_to_sip(Some(&n), None, &p, &NumberForm::default());
    assert_eq!(out.privacy.as_deref(), Some("id;critical"));
    assert_eq!(
        out.p_asserted_identity.as_deref(),
        Some("<sip:+4930123@gw.example;user=phone>")
    );
}

#[test]
fn egress_pai_disabled() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(ALLOWED),
        Some(NETWORK),
    );
    let mut p = policy(true);
    p.send_pai = false;
    let out = caller_to_sip(Some(&n), None, &p, &NumberForm::default());
    assert_eq!(out.p_asserted_identity, None);
}

#[test]
fn egress_rpid_allowed_screened() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(ALLOWED),
        Some(NETWORK),
    );
    let mut p = policy(true);
    p.send_rpid = true;
    let out = caller_to_sip(Some(&n), Some("Alice"), &p, &NumberForm::default());
    assert_eq!(
        out.remote_party_id.as_deref(),
        Some(
            r#""Alice" <sip:+4930123@gw.example;user=phone>;party=calling;screen=yes;privacy=off"#
        )
    );
}

#[test]
fn egress_rpid_restricted_not_screened() {
    let n = number(
        "0301234",
        TypeOfNumber::UNKNOWN,
        Some(RESTRICTED),
        Some(NOT_SCREENED),
    );
    let mut p = policy(true);
    p.send_rpid = true;
    let out = caller_to_sip(Some(&n), None, &p, &NumberForm::default());
    assert_eq!(
        out.remote_party_id.as_deref(),
        Some("<sip:0301234@gw.example;user=phone>;party=calling;screen=no;privacy=full")
    );
}

#[test]
fn egress_rpid_verified_counts_as_screened() {
    let n = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(ALLOWED),
        Some(VERIFIED),
    );
    let mut p = policy(true);
    p.send_rpid = true;
    let out = caller_to_sip(Some(&n), None, &p, &NumberForm::default());
    assert!(out.remote_party_id.unwrap().contains(";screen=yes;"));
}

#[test]
fn egress_number_forms() {
    let form = NumberForm::default();
    let cases = [
        (
            TypeOfNumber::INTERNATIONAL,
            "4930123",
            "<sip:+4930123@gw.example;user=phone>",
        ),
        (
            TypeOfNumber::NATIONAL,
            "301234",
            "<sip:0301234@gw.example;user=phone>",
        ),
        (
            TypeOfNumber::SUBSCRIBER,
            "1234",
            "<sip:1234@gw.example;user=phone>",
        ),
        (
            TypeOfNumber::UNKNOWN,
            "1234",
            "<sip:1234@gw.example;user=phone>",
        ),
        (
            TypeOfNumber::UNKNOWN,
            "*31#1234",
            "<sip:*31%231234@gw.example;user=phone>",
        ),
    ];
    for (ton, digits, from) in cases {
        let n = number(digits, ton, Some(ALLOWED), None);
        assert_eq!(
            caller_to_sip(Some(&n), None, &policy(false), &form).from,
            from,
            "{ton}"
        );
    }
}

#[test]
fn egress_pai_tel_form() {
    let mut p = policy(true);
    p.pai_uri = IdentityUriForm::Tel;
    let form = NumberForm::default();
    let intl = number("4930123", TypeOfNumber::INTERNATIONAL, Some(ALLOWED), None);
    let natl = number("301234", TypeOfNumber::NATIONAL, Some(ALLOWED), None);
    assert_eq!(
        caller_to_sip(Some(&intl), None, &p, &form)
            .p_asserted_identity
            .as_deref(),
        Some("<tel:+4930123>")
    );
    assert_eq!(
        caller_to_sip(Some(&natl), None, &p, &form)
            .p_asserted_identity
            .as_deref(),
        Some("<tel:0301234;phone-context=gw.example>")
    );
}

#[test]
fn egress_display_is_escaped() {
    let n = number("4930123", TypeOfNumber::INTERNATIONAL, Some(ALLOWED), None);
    let out = caller_to_sip(
        Some(&n),
        Some(r#"A "B" \C"#),
        &policy(false),
        &NumberForm::default(),
    );
    assert_eq!(
        out.from,
        r#""A \"B\" \\C" <sip:+4930123@gw.example;user=phone>"#
    );
}

#[test]
fn egress_not_available_and_absent() {
    let form = NumberForm::default();
    let na_empty = PartyNumber {
        presentation: Some(NOT_AVAILABLE),
        ..PartyNumber::unknown(mapping::number::Digits::empty())
    };
    let na_digits = number(
        "4930123",
        TypeOfNumber::INTERNATIONAL,
        Some(NOT_AVAILABLE),
        None,
    );
    for n in [None, Some(&na_empty), Some(&na_digits)] {
        let out = caller_to_sip(n, Some("Alice"), &policy(true), &form);
        assert_eq!(out.from, UNAVAILABLE_FROM);
        assert_eq!(out.p_asserted_identity, None);
        assert_eq!(out.privacy, None);
        assert_eq!(out.remote_party_id, None);
    }
}

#[test]
fn egress_restricted_without_digits() {
    let n = PartyNumber {
        presentation: Some(RESTRICTED),
        ..PartyNumber::unknown(mapping::number::Digits::empty())
    };
    let out = caller_to_sip(Some(&n), None, &policy(true), &NumberForm::default());
    assert_eq!(out.from, ANONYMOUS_FROM);
    assert_eq!(out.p_asserted_identity, None);
    assert_eq!(out.privacy, None);
}

// ---------------------------------------------------------------------------------------
// Round trips: call model -> SIP -> call model over a trusted trunk keeps the number.
// ---------------------------------------------------------------------------------------

#[test]
fn round_trip_over_trusted_trunk() {
    let form = NumberForm::default();
    for ton in [TypeOfNumber::INTERNATIONAL, TypeOfNumber::NATIONAL] {
        for presentation in [ALLOWED, RESTRICTED] {
            let n = number("301234", ton, Some(presentation), Some(NETWORK));
            let out = caller_to_sip(Some(&n), Some("Alice"), &policy(true), &form);
            let back = caller_from_sip(
                &SipIdentityIn {
                    from: &out.from,
                    p_asserted_identity: out.p_asserted_identity.as_deref(),
                    remote_party_id: out.remote_party_id.as_deref(),
                    privacy: out.privacy.as_deref(),
                },
                true,
                &form,
            );
            assert_eq!(back.number, n, "{ton} {presentation}");
            let name = (presentation == ALLOWED).then_some("Alice");
            assert_eq!(back.display_name.as_deref(), name);
        }
    }
}

#[test]
fn round_trip_not_available() {
    let form = NumberForm::default();
    let out = caller_to_sip(None, None, &policy(true), &form);
    let back = caller_from_sip(
        &SipIdentityIn {
            from: &out.from,
            ..Default::default()
        },
        true,
        &form,
    );
    assert_eq!(back.number.presentation, Some(NOT_AVAILABLE));
    assert!(back.number.digits.is_empty());
}
