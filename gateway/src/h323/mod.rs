//! The H.323 leg (H.225.0 call signalling, H.245, RAS). Sans-IO cores; the tokio shell
//! in `listeners::h225` moves the bytes.

pub mod call_leg;
pub mod fast_start;
pub mod h245_control;
pub mod ras;
pub mod release_reason;
pub mod uuie;
pub mod without_calls;
