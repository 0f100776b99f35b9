#![no_main]
//! Parses arbitrary bytes as a SIP message; whatever parses must serialise, parse again,
//! and read the same typed key headers (Via, From, To, CSeq, Call-ID, Contact) and body.

use gateway::sip::message::SipMessage;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(m) = SipMessage::parse(data) else {
        return;
    };
    let _ = m.validate();
    let bytes = m.to_bytes();
    let back = SipMessage::parse(&bytes).expect("serialised message parses");
    let (a, b) = (m.headers(), back.headers());
    assert_eq!(a.vias().ok(), b.vias().ok());
    assert_eq!(a.from().ok(), b.from().ok());
    assert_eq!(a.to().ok(), b.to().ok());
    assert_eq!(a.cseq().ok(), b.cseq().ok());
    assert_eq!(a.call_id(), b.call_id());
    assert_eq!(a.contacts().ok(), b.contacts().ok());
    assert_eq!(m.body(), back.body());
    assert_eq!(m.validate().is_ok(), back.validate().is_ok());
    assert_eq!(back.to_bytes(), bytes);
});
