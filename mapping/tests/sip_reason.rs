//! The Reason header (RFC 3326, RFC 8606 location) both ways.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::sip::reason::{
    LOCATION_TOKENS, ReasonProtocol, ReasonValue, format_reason, parse_reason, q850_from_reason,
    q850_text, sip_status_from_reason,
};

#[test]
fn rfc3326_formats_q850_reason() {
    assert_eq!(
        ReasonValue::q850(Q850Cause::NORMAL_CLEARING).to_string(),
        r#"Q.850;cause=16;text="Normal call clearing""#
    );
    assert_eq!(
        ReasonValue::q850(Q850Cause::USER_BUSY).to_string(),
        r#"Q.850;cause=17;text="User busy""#
    );
}

#[test]
fn rfc3326_formats_sip_reason() {
    assert_eq!(
        ReasonValue::sip(486).to_string(),
        r#"SIP;cause=486;text="Busy Here""#
    );
    assert_eq!(
        ReasonValue::sip(200).to_string(),
        r#"SIP;cause=200;text="OK""#
    );
}

#[test]
fn unknown_cause_value_is_formatted_without_text() {
    assert_eq!(q850_text(Q850Cause(12)), None);
    assert_eq!(
        ReasonValue::q850(Q850Cause(12)).to_string(),
        "Q.850;cause=12"
    );
}

#[test]
fn rfc8606_location_is_formatted_and_parsed() {
    let v = ReasonValue::q850_with_location(Cause {
        value: Q850Cause::USER_BUSY,
        location: Location::PUBLIC_LOCAL,
    });
    assert_eq!(
        v.to_string(),
        r#"Q.850;cause=17;text="User busy";location=LN"#
    );
    for &(token, location) in LOCATION_TOKENS {
        let header = format!("Q.850;cause=16;location={token}");
        assert_eq!(
            q850_from_reason(&header, Location::TRANSIT),
            Some(Cause {
                value: Q850Cause(16),
                location
            }),
            "{token}"
        );
    }
    // Lower case token, and an unknown token falling back to the default location.
    assert_eq!(
        q850_from_reason("Q.850;cause=16;location=rln", Location::USER).map(|c| c.location),
        Some(Location::PUBLIC_REMOTE)
    );
    assert_eq!(
        q850_from_reason("Q.850;cause=16;location=XYZ", Location::USER).map(|c| c.location),
        Some(Location::USER)
    );
}

#[test]
fn parses_several_values_with_escaped_text() {
    let v = parse_reason(
        r#"SIP;cause=580;text="Precondition Failure", Q.850;cause=34;text="No circuit, \"really\"; sorry""#,
    );
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].protocol, ReasonProtocol::Sip);
    assert_eq!(v[0].cause, Some(580));
    assert_eq!(v[0].text.as_deref(), Some("Precondition Failure"));
    assert_eq!(v[1].protocol, ReasonProtocol::Q850);
    assert_eq!(v[1].cause, Some(34));
    assert_eq!(v[1].text.as_deref(), Some(r#"No circuit, "really"; sorry"#));
}

#[test]
fn protocol_and_parameter_names_are_case_insensitive_with_whitespace() {
    let v = parse_reason(r#" q.850 ; CAUSE = 17 ; Text = "x" "#);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].protocol, ReasonProtocol::Q850);
    assert_eq!(v[0].cause, Some(17));
    assert_eq!(v[0].text.as_deref(), Some("x"));
    assert_eq!(sip_status_from_reason("sip;cause=603"), Some(603));
}

#[test]
fn unknown_protocols_and_params_are_ignored() {
    let header = r#"preemption;cause=1;text="UA Preemption", Q.850;foo=bar;cause=16;x"#;
    let v = parse_reason(header);
    assert_eq!(v[0].protocol, ReasonProtocol::Other("preemption".into()));
    assert_eq!(
        q850_from_reason(header, Location::USER),
        Some(Cause::NORMAL)
    );
    assert_eq!(sip_status_from_reason(header), None);
}

#[test]
fn invalid_causes_are_ignored() {
    for header in [
        "Q.850;cause=abc",
        "Q.850;cause=",
        "Q.850;cause=128",
        "Q.850;cause=-1",
        "Q.850;cause=99999999999",
        "Q.850",
        "Q.850;text=\"no cause\"",
        "",
        ",,,",
        ";cause=16",
    ] {
        assert_eq!(q850_from_reason(header, Location::USER), None, "{header:?}");
    }
    assert_eq!(sip_status_from_reason("SIP;cause=99"), None);
    assert_eq!(sip_status_from_reason("SIP;cause=700"), None);
}

#[test]
fn first_q850_value_wins() {
    assert_eq!(
        q850_from_reason(
            "SIP;cause=486, Q.850;cause=17, Q.850;cause=34",
            Location::USER
        )
        .map(|c| c.value),
        Some(Q850Cause(17))
    );
}

#[test]
fn text_cannot_break_the_header_line() {
    let v = ReasonValue {
        protocol: ReasonProtocol::Q850,
        cause: Some(16),
        text: Some("a\r\nVia: evil".into()),
        location: None,
    };
    assert_eq!(v.to_string(), r#"Q.850;cause=16;text="a  Via: evil""#);
}

#[test]
fn formats_a_list() {
    let list = [
        ReasonValue::sip(600),
        ReasonValue::q850(Q850Cause::USER_BUSY),
    ];
    let header = format_reason(&list);
    assert_eq!(
        header,
        r#"SIP;cause=600;text="Busy Everywhere", Q.850;cause=17;text="User busy""#
    );
    assert_eq!(parse_reason(&header), list);
}
