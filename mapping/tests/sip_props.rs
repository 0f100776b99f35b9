//! Property tests for the SIP tables and parsers: encoders and decoders agree, parsers of
//! peer input never panic, mapped values stay in range.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::number::{NumberingPlan, PartyNumber, TypeOfNumber};
use mapping::sip::cause_map::{cause_for_status, status_for_cause};
use mapping::sip::name_addr::{NameAddr, Uri};
use mapping::sip::privacy::Privacy;
use mapping::sip::reason::{ReasonProtocol, ReasonValue, parse_reason, q850_from_reason};
use mapping::sip::rpid::RemotePartyId;
use mapping::sip::{NumberForm, SipIdentityIn, caller_from_sip};
use proptest::prelude::*;

proptest! {
    #[test]
    fn q850_reason_round_trips(cause in 0u8..=127) {
        let header = ReasonValue::q850(Q850Cause(cause)).to_string();
        prop_assert_eq!(
            q850_from_reason(&header, Location::USER),
            Some(Cause { value: Q850Cause(cause), location: Location::USER })
        );
    }

    #[test]
    fn reason_text_round_trips(cause in 100u16..700, text in "[^\r\n]{0,40}") {
        let v = ReasonValue {
            protocol: ReasonProtocol::Sip,
            cause: Some(cause),
            text: Some(text),
            location: None,
        };
        let parsed = parse_reason(&v.to_string());
        prop_assert_eq!(parsed, vec![v]);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}") {
        let _ = parse_reason(&s);
        let _ = NameAddr::parse_list(&s);
        let _ = Uri::parse(&s);
        let _ = RemotePartyId::parse_list(&s);
        let _ = Privacy::parse(&s);
        let _ = cause_for_status(404, Some(&s));
        let h = SipIdentityIn {
            from: &s,
            p_asserted_identity: Some(&s),
            remote_party_id: Some(&s),
            privacy: Some(&s),
        };
        let _ = caller_from_sip(&h, true, &NumberForm::default());
    }

    #[test]
    fn header_like_input_never_panics(
        s in r#"[<>";,=@:%+0-9a-zA-Z\\ .-]{0,60}"#
    ) {
        let _ = parse_reason(&s);
        let _ = NameAddr::parse_list(&s);
        let _ = Uri::parse(&s);
        let h = SipIdentityIn { from: &s, p_asserted_identity: Some(&s), ..Default::default() };
        let _ = caller_from_sip(&h, true, &NumberForm::default());
    }

    #[test]
    fn cause_to_status_is_always_a_failure_status(cause: u8, location in 0u8..16) {
        let status = status_for_cause(Cause { value: Q850Cause(cause), location: Location(location) });
        prop_assert!((400..700).contains(&status));
    }

    #[test]
    fn status_to_cause_is_always_a_7_bit_cause(status: u16) {
        prop_assert!(cause_for_status(status, None).0 <= 127);
    }

    #[test]
    fn number_form_render_then_classify(digits in "[1-9][0-9]{0,14}", which in 0usize..2) {
        let form = NumberForm::default();
        let ton = [TypeOfNumber::INTERNATIONAL, TypeOfNumber::NATIONAL][which];
        let n = PartyNumber {
            digits: digits.parse().unwrap(),
            ton,
            npi: NumberingPlan::ISDN,
            presentation: None,
            screening: None,
        };
        prop_assert_eq!(form.classify(&form.render(&n)), Some(n));
    }
}
