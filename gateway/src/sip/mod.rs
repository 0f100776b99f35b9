//! The SIP leg: messages, SDP, transactions, dialogs, registrar (RFC 3261 and friends).
//!
//! Sans-IO cores; the tokio shell in `listeners` moves the bytes.

pub mod call_leg;
pub mod dialog;
pub mod digest;
pub mod endpoint;
pub mod message;
pub mod registrar;
pub mod registration_client;
pub mod reliable;
pub mod sdp;
pub mod service;
pub mod session_timer;
pub mod source_limit;
pub mod transaction;
pub mod trunk_monitor;
pub mod trunks;
