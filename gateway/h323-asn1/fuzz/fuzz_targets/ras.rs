//! H.225.0 `RasMessage` decoder: no panic on any input; whatever decodes re-encodes, and
//! the re-encoding decodes to the same value.
//!
//! Run: `cd gateway/h323-asn1/fuzz && cargo fuzz run -s none ras -- -max_total_time=60`
#![no_main]

use h323_asn1::h225;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = h225::decode_ras(data) {
        if let Ok(bytes) = h225::encode_ras(&m) {
            let again = h225::decode_ras(&bytes).expect("own encoding decodes");
            assert_eq!(again, m);
        }
    }
});
