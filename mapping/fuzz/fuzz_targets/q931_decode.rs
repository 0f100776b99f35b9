//! Q.931 / H.225.0 message decoder: no panic on any input; whatever decodes re-encodes
//! to the same bytes and decodes to the same message; typed views never panic.
//!
//! Run (stable toolchain): `cd mapping/fuzz && cargo fuzz run -s none q931_decode -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapping::q931::{Dialect, Message};

fuzz_target!(|data: &[u8]| {
    for dialect in [Dialect::Q931, Dialect::H225] {
        if let Ok(m) = Message::decode(data, dialect) {
            let bytes = m.encode();
            assert_eq!(bytes, data);
            let again = Message::decode(&bytes, dialect).expect("own encoding decodes");
            assert_eq!(again, m);
            for ie in m.ies() {
                if let Some(Ok(v)) = ie.typed() {
                    // A typed view re-encodes to an element whose own typed view is the same.
                    let re = v.encode();
                    assert_eq!(re.typed().and_then(Result::ok), Some(v));
                }
            }
            let _ = m.validate();
            let _ = m.to_string();
            let _ = mapping::q931::translate::to_event(&m, mapping::model::Initiator::Caller);
        }
    }
});
