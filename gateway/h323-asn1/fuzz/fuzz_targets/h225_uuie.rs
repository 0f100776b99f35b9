//! H.225.0 `H323-UserInformation` decoder: no panic on any input; whatever decodes
//! re-encodes, and the re-encoding decodes to the same value.
//!
//! Run: `cd gateway/h323-asn1/fuzz && cargo fuzz run -s none h225_uuie -- -max_total_time=60`
#![no_main]

use h323_asn1::h225;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = h225::decode_user_information(data) {
        // A decoded value may still break a constraint on encode (e.g. an extension
        // addition the ASN.1 declares mandatory that an older peer left out is fine, but
        // rasn checks sizes again); what encodes must decode to the same value.
        if let Ok(bytes) = h225::encode_user_information(&m) {
            let again = h225::decode_user_information(&bytes).expect("own encoding decodes");
            assert_eq!(again, m);
        }
    }
});
