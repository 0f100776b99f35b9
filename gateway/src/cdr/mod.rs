//! Call detail records: one per call attempt, as CSV and/or JSON lines, written durably
//! (see [`writer`]) from the [`CallRecord`](crate::switch::CallRecord) the call core
//! closes each call with.

pub mod format;
pub mod writer;

pub use writer::{CdrError, CdrSink, CdrWriter};
