//! Our view of a session description (RFC 8866 §5), reduced to what a SIP trunk needs
//! and keeping every m-line in position (RFC 3264 §6: an answer has exactly as many
//! m-lines as the offer, in the same order).

use mapping::model::MediaDirection;
use std::fmt;
use std::net::IpAddr;

/// A session description: origin, session-level connection and attributes, m-lines in order.
///
/// Lines a SIP trunk never uses (`i=`, `u=`, `e=`, `p=`, `t=`, `r=`, `z=`, `k=`) are not
/// kept; on output `t=0 0` is written (RFC 3264 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` when we write one).
    pub session_name: String,
    /// Session-level `c=`, used by every m-line without its own (RFC 8866 §5.7).
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Session-level `a=` lines, in order (direction here is a default for every m-line).
    pub attributes: Vec<Attribute>,
    /// The m-lines in order.
    pub media: Vec<MediaDescription>,
}

/// The `o=` line (RFC 8866 §5.2). RFC 3264 §8: the version goes up by one with every
/// changed description a party sends in a session; the session id never changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name; `-` when there is none.
    pub username: String,
    /// The session id, a numeric string (kept as text: peers send ids beyond 64 bits).
    pub session_id: String,
    /// The session version.
    pub version: u64,
    /// The address of the originating host, as written (IP or host name).
    pub address: String,
}

/// A `c=` line (RFC 8866 §5.7); a multicast TTL or address count is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// An IP address (what SIP trunks send).
    Ip(IpAddr),
    /// A host name (RFC 8866 allows an FQDN; media needs it resolved first).
    Host {
        /// `IP6` rather than `IP4`.
        ip6: bool,
        /// The name as written.
        name: String,
    },
}

impl Connection {
    /// The IP address, when the line has one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Connection::Ip(a) => Some(*a),
            Connection::Host { .. } => None,
        }
    }

    /// RFC 3264 §8.4 / RFC 2543 old-style hold: `c=IN IP4 0.0.0.0`.
    pub fn is_hold(&self) -> bool {
        self.ip().is_some_and(|a| a.is_unspecified())
    }
}

/// A `b=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bandwidth type (`AS`, `CT`, `TIAS`...).
    pub kind: String,
    /// The value.
    pub value: u64,
}

/// An `a=` line, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Value after the colon, if any.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=sendrecv`).
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A value attribute (`a=ptime:20`).
    pub fn with_value(name: &str, value: impl fmt::Display) -> Self {
        Attribute {
            name: name.to_owned(),
            value: Some(value.to_string()),
        }
    }
}

/// The media type of an m-line (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `image` (T.38 fax, RFC 3362).
    Image,
    /// Anything else (`video`, `application`...), kept verbatim.
    Other(String),
}

impl MediaKind {
    /// Parses the media field (case-insensitive for the known kinds).
    pub fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("audio") {
            MediaKind::Audio
        } else if s.eq_ignore_ascii_case("image") {
            MediaKind::Image
        } else {
            MediaKind::Other(s.to_owned())
        }
    }

    /// The media field as written.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Image => "image",
            MediaKind::Other(s) => s,
        }
    }
}

/// The transport protocol of an m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/SAVP` (RFC 3711): kept and flagged; we do not do SRTP.
    RtpSavp,
    /// `udptl` (T.38, ITU-T T.38 Annex D / RFC 3362).
    Udptl,
    /// Anything else, kept verbatim.
    Other(String),
}

impl Transport {
    /// Parses the proto field (case-insensitive for the known ones).
    pub fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("RTP/AVP") {
            Transport::RtpAvp
        } else if s.eq_ignore_ascii_case("RTP/SAVP") {
            Transport::RtpSavp
        } else if s.eq_ignore_ascii_case("udptl") {
            Transport::Udptl
        } else {
            Transport::Other(s.to_owned())
        }
    }

    /// The proto field as written.
    pub fn as_str(&self) -> &str {
        match self {
            Transport::RtpAvp => "RTP/AVP",
            Transport::RtpSavp => "RTP/SAVP",
            Transport::Udptl => "udptl",
            Transport::Other(s) => s,
        }
    }
}

/// One m-line with its own `c=`, `b=` and `a=` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type.
    pub kind: MediaKind,
    /// Transport port; 0 means the stream is rejected or disabled (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The `/n` number of ports, if given.
    pub num_ports: Option<u16>,
    /// Transport protocol.
    pub transport: Transport,
    /// Format list (payload type numbers for RTP, `t38` for udptl), verbatim.
    pub formats: Vec<String>,
    /// Media-level `c=` (overrides the session-level one).
    pub connection: Option<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// An m-line with no `c=`, `b=` or attributes.
    pub fn new(kind: MediaKind, port: u16, transport: Transport, formats: Vec<String>) -> Self {
        MediaDescription {
            kind,
            port,
            num_ports: None,
            transport,
            formats,
            connection: None,
            bandwidths: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// True for an RTP audio stream (`RTP/AVP` or `RTP/SAVP`).
    pub fn is_rtp_audio(&self) -> bool {
        self.kind == MediaKind::Audio
            && matches!(self.transport, Transport::RtpAvp | Transport::RtpSavp)
    }

    /// True for a T.38 stream: `m=image <port> udptl t38` (RFC 3362).
    pub fn is_t38(&self) -> bool {
        self.kind == MediaKind::Image
            && self.transport == Transport::Udptl
            && self.formats.iter().any(|f| f.eq_ignore_ascii_case("t38"))
    }

    /// True when the transport is secure RTP (flagged: we cannot terminate it).
    pub fn is_secure(&self) -> bool {
        self.transport == Transport::RtpSavp
    }

    /// The payload type numbers of the format list; entries that are not numbers are
    /// skipped.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    /// Values of all attributes with this name (case-insensitive).
    pub fn attribute_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        attribute_values(&self.attributes, name)
    }

    /// The rejected form of this m-line for an answer (RFC 3264 §6: port 0, same media
    /// type, transport and formats, no attributes).
    pub fn rejected(&self) -> Self {
        MediaDescription::new(
            self.kind.clone(),
            0,
            self.transport.clone(),
            self.formats.clone(),
        )
    }
}

/// Values of the attributes named `name` (case-insensitive) in a list.
pub(crate) fn attribute_values<'a>(
    attributes: &'a [Attribute],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    attributes
        .iter()
        .filter(move |a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.value.as_deref().unwrap_or(""))
}

/// The last direction attribute in a list (RFC 3264 §5.1), if any.
pub(crate) fn direction_in(attributes: &[Attribute]) -> Option<MediaDirection> {
    attributes.iter().rev().find_map(|a| {
        if a.value.is_some() {
            return None;
        }
        match a.name.to_ascii_lowercase().as_str() {
            "sendrecv" => Some(MediaDirection::SendRecv),
            "sendonly" => Some(MediaDirection::SendOnly),
            "recvonly" => Some(MediaDirection::RecvOnly),
            "inactive" => Some(MediaDirection::Inactive),
            _ => None,
        }
    })
}

/// The attribute name of a direction.
pub fn direction_name(direction: MediaDirection) -> &'static str {
    match direction {
        MediaDirection::SendRecv => "sendrecv",
        MediaDirection::SendOnly => "sendonly",
        MediaDirection::RecvOnly => "recvonly",
        MediaDirection::Inactive => "inactive",
    }
}

impl SessionDescription {
    /// The connection that applies to m-line `index`: its own `c=`, else the session's.
    pub fn connection_for(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connection.as_ref())
            .or(self.connection.as_ref())
    }

    /// The direction of m-line `index` as written: media-level attribute, else
    /// session-level, else sendrecv (RFC 3264 §5.1); old-style hold (`c=0.0.0.0`, RFC 3264
    /// §8.4) takes away the receive half (sendrecv -> sendonly, recvonly -> inactive).
    pub fn direction_for(&self, index: usize) -> MediaDirection {
        let written = self
            .media
            .get(index)
            .and_then(|m| direction_in(&m.attributes))
            .or_else(|| direction_in(&self.attributes))
            .unwrap_or_default();
        if self.connection_for(index).is_some_and(|c| c.is_hold()) {
            match written {
                MediaDirection::SendRecv | MediaDirection::SendOnly => MediaDirection::SendOnly,
                MediaDirection::RecvOnly | MediaDirection::Inactive => MediaDirection::Inactive,
            }
        } else {
            written
        }
    }

    /// Index of the first RTP audio m-line with a non-zero port.
    pub fn first_audio(&self) -> Option<usize> {
        self.media
            .iter()
            .position(|m| m.is_rtp_audio() && m.port != 0)
    }

    /// Index of the first T.38 m-line with a non-zero port.
    pub fn first_t38(&self) -> Option<usize> {
        self.media.iter().position(|m| m.is_t38() && m.port != 0)
    }
}
