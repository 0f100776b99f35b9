//! Media: RTP/RTCP packet views, RTCP reports and a call-quality estimate ([`rtcp`],
//! [`quality`]), the relay between two legs, G.711 and a tone source (DESIGN.md
//! "Media"), and the per-call tokio task that drives them; the codec layer and
//! transcoder ([`codec`], run inside the relay by [`transcode_path`] behind a jitter
//! buffer ([`jitter`]) with loss concealment ([`plc`]) and comfort noise
//! ([`comfort_noise`])), and in-band DTMF ([`inband_dtmf`]).
//!
//! Sans-IO like the protocol cores: the shell ([`session`], with sockets from [`ports`])
//! owns the sockets and the clock and feeds datagrams in with their arrival time; nothing
//! here allocates per packet.

pub mod codec;
pub mod comfort_noise;
pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod inband_dtmf;
pub mod jitter;
pub mod plc;
pub mod ports;
pub mod quality;
pub mod relay;
pub mod rtcp;
pub mod rtp;
pub mod session;
pub mod stats;
pub mod tone;
pub mod transcode_path;

pub use dtmf::DtmfPolicy;
pub use g711::Law;
pub use ports::{BoundPair, MediaError, PortPool};
pub use relay::{Forward, Originated, PtMap, PtMapFull, Relay, RelayConfig, Side, SideConfig};
pub use rtp::{RtcpHeader, RtpError, RtpHeader, RtpPacket};
pub use session::{
    EventSink, MediaEvent, MediaSession, Mode, SessionHandle, SessionReport, SideUpdate,
};
pub use stats::StreamStats;
pub use tone::{RtpSender, ToneGenerator};
