//! H.245: decode arbitrary bytes; what decodes must re-encode and decode to the same value.
#![no_main]

use h323_asn1::h245;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = h245::decode(data) {
        let bytes = h245::encode(&msg).expect("a decoded message encodes");
        let again = h245::decode(&bytes).expect("an encoded message decodes");
        assert_eq!(again, msg);
    }
    if let Ok(olc) = h245::decode_open_logical_channel(data) {
        let bytes = h245::encode_open_logical_channel(&olc).expect("a decoded OLC encodes");
        assert_eq!(
            h245::decode_open_logical_channel(&bytes).expect("decodes"),
            olc
        );
    }
});
