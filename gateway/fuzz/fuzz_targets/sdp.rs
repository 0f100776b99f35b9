#![no_main]
//! SDP text: parse arbitrary bytes; whatever parses must write and parse back the same,
//! convert to `Media` and go through the answerer without panicking.

use gateway::sip::sdp::{LocalCapabilities, OfferAnswer, SessionDescription};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = SessionDescription::parse(data) {
        let text = sdp.to_string();
        let again = SessionDescription::parse(text.as_bytes()).expect("our output parses");
        assert_eq!(again, sdp, "write/parse round trip");
        let _ = sdp.to_media();
        let mut caps = LocalCapabilities::g711("192.0.2.10:20000".parse().expect("literal"));
        caps.t38 = Some("192.0.2.10:20002".parse().expect("literal"));
        let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().expect("literal"));
        if let Ok(answer) = oa.receive_offer(&sdp, &caps) {
            assert_eq!(
                answer.sdp.media.len(),
                sdp.media.len(),
                "one line per offered line"
            );
            let text = answer.sdp.to_string();
            let reparsed = SessionDescription::parse(text.as_bytes()).expect("answer parses");
            assert_eq!(reparsed, answer.sdp, "answer round trip");
        }
    }
});
