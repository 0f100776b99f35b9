//! pcap capture of what gatewayd sends and receives (`gatewayd run --capture FILE`),
//! and reading captures back for `gatewayd replay`.
//!
//! What is captured: every SIP datagram and stream message (TLS as its plain text),
//! and every H.225.0 TPKT, as IP packets built from the socket data ([`synth`]); the
//! media (RTP) is not. The writer runs on its own thread ([`writer`]).

pub mod reader;
pub mod synth;
pub mod writer;

pub use synth::Dir;
pub use writer::{Capture, CaptureThread, seed_comment};
