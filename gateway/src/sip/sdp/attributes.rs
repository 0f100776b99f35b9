//! Typed readings of the attributes the offer/answer code needs. Malformed values are
//! ignored rather than fatal: one odd line must not fail a call (RFC 8866 §5.13 lets a
//! receiver ignore attributes it does not understand).

use super::description::MediaDescription;
use std::net::{IpAddr, SocketAddr};

/// An `a=rtpmap:<pt> <name>/<clock>[/<channels>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written.
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (1 when absent).
    pub channels: u8,
}

/// An `a=rtcp:<port> [IN IP4|IP6 <addr>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// RTCP address, when given (else the m-line's connection address).
    pub address: Option<IpAddr>,
}

impl RtpMap {
    /// Parses the value of an rtpmap attribute.
    pub fn parse(value: &str) -> Option<Self> {
        let (pt, rest) = value.trim().split_once(char::is_whitespace)?;
        let payload_type = pt.parse::<u8>().ok().filter(|pt| *pt < 128)?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next()?.trim().to_owned();
        let clock_rate = parts.next()?.trim().parse().ok()?;
        let channels = match parts.next() {
            Some(c) => c.trim().parse().ok()?,
            None => 1,
        };
        if encoding.is_empty() || parts.next().is_some() {
            return None;
        }
        Some(RtpMap {
            payload_type,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl Rtcp {
    /// Parses the value of an rtcp attribute.
    pub fn parse(value: &str) -> Option<Self> {
        let mut f = value.split_ascii_whitespace();
        let port = f.next()?.parse().ok()?;
        let address = match (f.next(), f.next(), f.next()) {
            (None, ..) => None,
            (Some(net), Some(_), Some(addr)) if net.eq_ignore_ascii_case("IN") => {
                Some(addr.parse().ok()?)
            }
            _ => return None,
        };
        Some(Rtcp { port, address })
    }

    /// The attribute value for an address.
    pub fn value_for(addr: SocketAddr) -> String {
        let family = if addr.is_ipv4() { "IP4" } else { "IP6" };
        format!("{} IN {family} {}", addr.port(), addr.ip())
    }
}

impl MediaDescription {
    /// The rtpmap for a payload type, if present and well formed.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.attribute_values("rtpmap")
            .filter_map(RtpMap::parse)
            .find(|m| m.payload_type == pt)
    }

    /// The fmtp parameters for a format (`a=fmtp:<fmt> <params>`, RFC 8866 §6.15).
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.attribute_values("fmtp").find_map(|v| {
            let v = v.trim_start();
            let (f, params) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
            (f == format).then(|| params.trim())
        })
    }

    /// `a=ptime` in whole milliseconds (RFC 8866 §6.4; a fraction is truncated).
    pub fn ptime(&self) -> Option<u16> {
        self.attribute_values("ptime").find_map(parse_millis)
    }

    /// `a=maxptime` in whole milliseconds (RFC 8866 §6.5).
    pub fn maxptime(&self) -> Option<u16> {
        self.attribute_values("maxptime").find_map(parse_millis)
    }

    /// `a=rtcp` (RFC 3605).
    pub fn rtcp(&self) -> Option<Rtcp> {
        self.attribute_values("rtcp").find_map(Rtcp::parse)
    }
}

fn parse_millis(v: &str) -> Option<u16> {
    let v = v.trim();
    let whole = v.split_once('.').map_or(v, |(w, _)| w);
    whole.parse().ok().filter(|ms| *ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_forms() {
        let m = RtpMap::parse("101 telephone-event/8000").unwrap();
        assert_eq!((m.payload_type, m.clock_rate, m.channels), (101, 8000, 1));
        assert_eq!(m.encoding, "telephone-event");
        let m = RtpMap::parse("111 opus/48000/2").unwrap();
        assert_eq!((m.payload_type, m.clock_rate, m.channels), (111, 48000, 2));
        assert!(RtpMap::parse("200 x/8000").is_none());
        assert!(RtpMap::parse("96 x").is_none());
        assert!(RtpMap::parse("96 /8000").is_none());
        assert!(RtpMap::parse("").is_none());
    }

    #[test]
    fn rtcp_forms() {
        assert_eq!(
            Rtcp::parse("53020"),
            Some(Rtcp {
                port: 53020,
                address: None
            })
        );
        let r = Rtcp::parse("53020 IN IP6 2001:db8::1").unwrap();
        assert_eq!(r.address, Some("2001:db8::1".parse().unwrap()));
        assert!(Rtcp::parse("x").is_none());
        assert!(Rtcp::parse("5 IN IP4").is_none());
        let v = Rtcp::value_for("192.0.2.1:5001".parse().unwrap());
        assert_eq!(v, "5001 IN IP4 192.0.2.1");
    }

    #[test]
    fn millis() {
        assert_eq!(parse_millis("20"), Some(20));
        assert_eq!(parse_millis(" 30.0 "), Some(30));
        assert_eq!(parse_millis("0"), None);
        assert_eq!(parse_millis("x"), None);
    }
}
