//! `listeners:` the sockets signalling arrives on.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `listeners:` signalling listeners.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listeners {
    /// SIP listeners (UDP, TCP, TLS).
    #[serde(default)]
    pub sip: Vec<SipListener>,
    /// H.225.0 call-signalling listeners (TCP, normally port 1720).
    #[serde(default)]
    pub h225: Vec<H225Listener>,
    /// H.225.0 RAS listeners (UDP, normally port 1719), for gatekeepers that address the
    /// gateway. Optional: gatekeeper registration works from an ephemeral port too.
    #[serde(default)]
    pub ras: Vec<RasListener>,
}

/// SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl SipTransport {
    /// The name used in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            SipTransport::Udp => "udp",
            SipTransport::Tcp => "tcp",
            SipTransport::Tls => "tls",
        }
    }
}

/// One SIP listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipListener {
    /// Transport: `udp`, `tcp` or `tls`.
    pub transport: SipTransport,
    /// Address and port, e.g. `"0.0.0.0:5060"` or `"[::]:5061"`.
    pub address: SocketAddr,
    /// Certificate and key; required for `tls`, refused for the other transports.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
}

/// The certificate and private key of a TLS listener, PEM files.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (PEM).
    pub certificate: PathBuf,
    /// Private key of the leaf certificate (PEM, PKCS#8 or RSA).
    pub private_key: PathBuf,
}

/// One H.225.0 call-signalling listener (TCP).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct H225Listener {
    /// Address and port (normally 1720).
    pub address: SocketAddr,
}

/// One H.225.0 RAS listener (UDP).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RasListener {
    /// Address and port (normally 1719).
    pub address: SocketAddr,
}
