//! Reason phrases (RFC 3261 §21 and extensions) and SIP methods.

use mapping::sip::reason_phrase::{REASON_PHRASES, reason_phrase, reason_phrase_or_class};
use mapping::sip::{SipMethod, method::METHODS};

/// RFC 3261 §21, every status it defines, with its section's phrase.
const RFC3261_SECTION_21: &[(u16, &str)] = &[
    (100, "Trying"),
    (180, "Ringing"),
    (181, "Call Is Being Forwarded"),
    (182, "Queued"),
    (183, "Session Progress"),
    (200, "OK"),
    (300, "Multiple Choices"),
    (301, "Moved Permanently"),
    (302, "Moved Temporarily"),
    (305, "Use Proxy"),
    (380, "Alternative Service"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (402, "Payment Required"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (406, "Not Acceptable"),
    (407, "Proxy Authentication Required"),
    (408, "Request Timeout"),
    (410, "Gone"),
    (413, "Request Entity Too Large"),
    (414, "Request-URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Unsupported URI Scheme"),
    (420, "Bad Extension"),
    (421, "Extension Required"),
    (423, "Interval Too Brief"),
    (480, "Temporarily Unavailable"),
    (481, "Call/Transaction Does Not Exist"),
    (482, "Loop Detected"),
    (483, "Too Many Hops"),
    (484, "Address Incomplete"),
    (485, "Ambiguous"),
    (486, "Busy Here"),
    (487, "Request Terminated"),
    (488, "Not Acceptable Here"),
    (491, "Request Pending"),
    (493, "Undecipherable"),
    (500, "Server Internal Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Server Time-out"),
    (505, "Version Not Supported"),
    (513, "Message Too Large"),
    (600, "Busy Everywhere"),
    (603, "Decline"),
    (604, "Does Not Exist Anywhere"),
    (606, "Not Acceptable"),
];

#[test]
fn rfc3261_section_21_rows() {
    for &(status, phrase) in RFC3261_SECTION_21 {
        assert_eq!(reason_phrase(status), Some(phrase), "{status}");
        let row = REASON_PHRASES.iter().find(|r| r.status == status).unwrap();
        assert!(
            row.rfc.starts_with("RFC 3261 §21."),
            "{status}: {}",
            row.rfc
        );
    }
    let from_3261 = REASON_PHRASES
        .iter()
        .filter(|r| r.rfc.starts_with("RFC 3261"))
        .count();
    assert_eq!(from_3261, RFC3261_SECTION_21.len());
}

#[test]
fn common_extension_rows() {
    for (status, phrase) in [
        (199, "Early Dialog Terminated"),
        (422, "Session Interval Too Small"),
        (433, "Anonymity Disallowed"),
        (489, "Bad Event"),
        (580, "Precondition Failure"),
        (607, "Unwanted"),
        (608, "Rejected"),
    ] {
        assert_eq!(reason_phrase(status), Some(phrase), "{status}");
    }
}

#[test]
fn table_is_sorted_and_unique() {
    assert!(REASON_PHRASES.windows(2).all(|w| w[0].status < w[1].status));
}

#[test]
fn unknown_codes_take_their_class_phrase() {
    assert_eq!(reason_phrase(499), None);
    assert_eq!(reason_phrase_or_class(499), "Bad Request");
    assert_eq!(reason_phrase_or_class(299), "OK");
    assert_eq!(reason_phrase_or_class(188), "Trying");
    assert_eq!(reason_phrase_or_class(699), "Busy Everywhere");
    assert_eq!(reason_phrase_or_class(99), "Unknown");
    assert_eq!(reason_phrase_or_class(700), "Unknown");
}

#[test]
fn methods_round_trip_and_are_case_sensitive() {
    for (method, token) in METHODS {
        assert_eq!(&SipMethod::parse(token), method);
        assert_eq!(method.as_str(), *token);
        assert_eq!(method.to_string(), *token);
    }
    assert_eq!(
        SipMethod::parse("invite"),
        SipMethod::Other("invite".into())
    );
    assert_eq!(SipMethod::parse("FOO").as_str(), "FOO");
    assert_eq!("BYE".parse::<SipMethod>(), Ok(SipMethod::Bye));
}
