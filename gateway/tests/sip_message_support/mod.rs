//! Helpers shared by the `sip_message_*` integration tests.

#![allow(dead_code)]

use gateway::sip::message::{SipMessage, canonical_name, names_match};

/// A message reduced to what must survive a round trip: start line, headers (long
/// names lower-cased, values as stored, Content-Length left out since serialisation
/// rewrites it), body.
pub fn canonical(m: &SipMessage) -> (String, Vec<(String, String)>, Vec<u8>) {
    let start = match m {
        SipMessage::Request(r) => format!("{} {}", r.method, r.uri),
        SipMessage::Response(r) => format!("{} {}", r.status, r.reason),
    };
    let headers = m
        .headers()
        .iter()
        .filter(|(n, _)| !names_match(n, "Content-Length"))
        .map(|(n, v)| (canonical_name(n).to_ascii_lowercase(), v.to_string()))
        .collect();
    (start, headers, m.body().to_vec())
}

/// Serialises `m`, parses the bytes again and checks the result equals `m` (after
/// [`canonical`]) and that the typed key headers read the same. Returns the bytes.
pub fn assert_round_trip(m: &SipMessage, what: &str) -> Vec<u8> {
    let bytes = m.to_bytes();
    let back = SipMessage::parse(&bytes).unwrap_or_else(|e| {
        panic!(
            "{what}: re-parse failed: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(
        canonical(m),
        canonical(&back),
        "{what}: round trip changed the message"
    );
    let (a, b) = (m.headers(), back.headers());
    assert_eq!(a.vias().ok(), b.vias().ok(), "{what}: Via");
    assert_eq!(a.from().ok(), b.from().ok(), "{what}: From");
    assert_eq!(a.to().ok(), b.to().ok(), "{what}: To");
    assert_eq!(a.cseq().ok(), b.cseq().ok(), "{what}: CSeq");
    assert_eq!(a.call_id(), b.call_id(), "{what}: Call-ID");
    assert_eq!(
        b.content_length().ok().flatten(),
        Some(m.body().len()),
        "{what}: Content-Length"
    );
    // The wire form is a fixed point.
    assert_eq!(
        back.to_bytes(),
        bytes,
        "{what}: second serialisation differs"
    );
    bytes
}
