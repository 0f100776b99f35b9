#![no_main]
//! RADIUS datagrams: the decoder and the response checks must not panic, and whatever
//! decodes must encode to bytes that decode to the same packet.

use gateway::radius::packet::{Packet, verify_accounting_request, verify_response};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = verify_response(data, &[0; 16], b"secret", true);
    let _ = verify_accounting_request(data, b"secret");
    if let Ok(p) = Packet::decode(data) {
        let again = Packet::decode(&p.encode()).expect("an encoded packet decodes");
        assert_eq!(again, p);
        let _ = p.to_string();
    }
});
