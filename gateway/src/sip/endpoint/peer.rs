//! Where a message came from or goes to, as the transport shell sees it.

use std::fmt;
use std::net::SocketAddr;

/// A SIP transport (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, the transactions retransmit.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl Transport {
    /// The Via transport token (RFC 3261 §20.42).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The transaction layer's view.
    pub fn reliability(self) -> crate::sip::transaction::Reliability {
        match self {
            Transport::Udp => crate::sip::transaction::Reliability::Unreliable,
            Transport::Tcp | Transport::Tls => crate::sip::transaction::Reliability::Reliable,
        }
    }

    /// Reads a Via transport token (case-insensitive).
    pub fn from_via_token(token: &str) -> Option<Transport> {
        match token.to_ascii_uppercase().as_str() {
            "UDP" => Some(Transport::Udp),
            "TCP" => Some(Transport::Tcp),
            "TLS" => Some(Transport::Tls),
            _ => None,
        }
    }
}

/// An identifier the shell gives each stream connection, so responses go back on the
/// connection a request came on (RFC 3261 §18.2.2).
pub type ConnectionId = u64;

/// The far end of a message: transport, address and (for streams) connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Transport.
    pub transport: Transport,
    /// Remote address and port.
    pub addr: SocketAddr,
    /// The stream connection, when there is one; `None` asks the shell to find or open one.
    pub connection: Option<ConnectionId>,
}

impl Peer {
    /// A UDP peer.
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr,
            connection: None,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.via_token(), self.addr)
    }
}
