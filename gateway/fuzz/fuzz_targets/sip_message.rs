#![no_main]
// Placeholder until the SIP parser lands.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
