//! Media: RTP/RTCP packet views and the relay between two legs (DESIGN.md "Media").
//!
//! Sans-IO like the protocol cores: the shell owns the sockets and the clock and feeds
//! datagrams in with their arrival time; nothing here allocates per packet.

pub mod relay;
pub mod rtp;
pub mod stats;

pub use relay::{Forward, PtMap, PtMapFull, Relay, RelayConfig, Side, SideConfig};
pub use rtp::{RtcpHeader, RtpError, RtpHeader, RtpPacket};
pub use stats::StreamStats;
