//! The H.323 leg (H.225.0 call signalling, H.245, RAS). Sans-IO cores; the tokio shell
//! in `listeners::h225` moves the bytes.

pub mod uuie;
pub mod without_calls;
