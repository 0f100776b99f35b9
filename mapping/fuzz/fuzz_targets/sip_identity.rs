//! SIP header values the call model reads (From / P-Asserted-Identity /
//! Remote-Party-ID / Privacy, Diversion, Reason): no panic on any input, and what a
//! Diversion value yields renders back to a value that parses to the same redirection.
//!
//! Run (stable toolchain): `cd mapping/fuzz && cargo fuzz run -s none sip_identity -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapping::sip::{
    NumberForm, SipIdentityIn, caller_from_sip, diversion_to_redirection, parse_reason,
    redirection_to_diversion,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let form = NumberForm::default();
    let mut parts = text.splitn(4, '\n');
    let (a, b, c, d) = (
        parts.next().unwrap_or(""),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    let identity = SipIdentityIn {
        from: a,
        p_asserted_identity: b,
        remote_party_id: c,
        privacy: d,
    };
    let _ = caller_from_sip(&identity, true, &form);
    let _ = caller_from_sip(&identity, false, &form);
    let _ = parse_reason(text);
    for r in diversion_to_redirection(&[text], &form) {
        let v = redirection_to_diversion(&r, "gw.test", &form);
        let again = diversion_to_redirection(&[&v], &form);
        assert_eq!(again.len(), 1, "{v}");
        assert_eq!(again[0].reason, r.reason, "{v}");
        assert_eq!(again[0].from.digits, r.from.digits, "{v}");
    }
});
