//! `kind: sip` trunks: a SIP peer (carrier, PBX, proxy).

use crate::config::host_port::HostPort;
use crate::config::listeners::SipTransport;
use crate::config::media::Codec;
use crate::config::secret::Secret;
use serde::Deserialize;

/// A SIP peer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipTrunk {
    /// The peer: `"host:port"` or a list of them. Calls go to the first that answers;
    /// requests from any of them are recognised as this trunk. May be left out on a
    /// trunk of registered `users` (phones), which is reached through their registrations.
    #[serde(default, deserialize_with = "crate::config::one_or_many::deserialize")]
    pub remote: Vec<HostPort>,
    /// Phones and soft clients that register with the gateway's registrar as this trunk:
    /// their REGISTER and INVITE are challenged (digest, RFC 7616) with these passwords,
    /// their calls come in on this trunk, and calls routed to this trunk go to the
    /// registered contacts of the called user.
    #[serde(default)]
    pub users: Vec<SipUser>,
    /// Digest realm of the challenges to `users`. Default: `general.node_name`.
    #[serde(default)]
    pub realm: Option<String>,
    /// Transport toward the peer: `udp`, `tcp` or `tls`. Default `udp`.
    #[serde(default = "default_transport")]
    pub transport: SipTransport,
    /// With `transport: tls`: the CA certificates (PEM) the peer's certificate must
    /// chain to; absent: the system's trust store.
    #[serde(default)]
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// With `transport: tls`: the name the peer's certificate must carry; default the
    /// host of `remote` (a DNS name, or an IP address matched against IP SANs).
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// Trust the peer's P-Asserted-Identity (RFC 3325): take the caller ID from it and
    /// honour `Privacy: id`. Untrusted peers' PAI is ignored and removed. Default false.
    #[serde(default)]
    pub trusted: bool,
    /// Register with the peer (a carrier that wants REGISTER); absent: no registration.
    #[serde(default)]
    pub register: Option<SipRegister>,
    /// Digest credentials answered to the peer's 401/407 challenges (INVITE and REGISTER).
    #[serde(default)]
    pub auth: Option<SipAuth>,
    /// Send OPTIONS every this many seconds and mark the trunk down when it goes
    /// unanswered; absent: no keep-alive.
    #[serde(default)]
    pub options_ping_seconds: Option<u32>,
    /// How DTMF is sent and expected: `rfc4733` (RTP events), `info` (SIP INFO) or
    /// `inband` (tones in the audio). Default `rfc4733`.
    #[serde(default)]
    pub dtmf: SipDtmf,
    /// Codecs for this trunk, most preferred first; absent: `media.codecs`.
    #[serde(default)]
    pub codecs: Option<Vec<Codec>>,
}

fn default_transport() -> SipTransport {
    SipTransport::Udp
}

/// `register:` registration with the peer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipRegister {
    /// User part of the registered address of record (often the trunk's main number).
    pub user: String,
    /// Requested registration lifetime in seconds; renewed before it runs out.
    /// Default 3600.
    #[serde(default = "default_expiry")]
    pub expiry_seconds: u32,
    /// Registrar, when it is not the (first) `remote`.
    #[serde(default)]
    pub registrar: Option<HostPort>,
}

fn default_expiry() -> u32 {
    3600
}

/// `auth:` digest credentials.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipAuth {
    /// Digest user name.
    pub user: String,
    /// Digest password (never logged).
    pub password: Secret,
    /// Answer only challenges of this realm; absent: any realm of this peer.
    #[serde(default)]
    pub realm: Option<String>,
}

/// A user of the registrar.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipUser {
    /// User name: the user part of the address of record and the digest user name.
    pub name: String,
    /// Digest password (never logged).
    pub password: Secret,
}

/// How DTMF crosses a SIP trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SipDtmf {
    /// RFC 4733 telephone-event RTP packets.
    #[default]
    Rfc4733,
    /// SIP INFO with `application/dtmf-relay`.
    Info,
    /// In-band tones in the audio.
    Inband,
}
