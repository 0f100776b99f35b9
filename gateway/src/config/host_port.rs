//! `host:port` peer addresses, where the host may be a DNS name.

use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// A peer address: `"sip.example.net:5060"`, `"192.0.2.10:1720"` or `"[2001:db8::1]:5061"`.
/// The port is always given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// DNS name or IP address (without brackets).
    pub host: String,
    /// Port, 1-65535.
    pub port: u16,
}

impl HostPort {
    /// Parses `host:port`.
    pub fn parse(text: &str) -> Result<HostPort, String> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (v6, port) = rest
                .split_once("]:")
                .ok_or_else(|| format!("`{text}`: expected [IPv6]:port"))?;
            v6.parse::<Ipv6Addr>()
                .map_err(|_| format!("`{v6}` is not an IPv6 address"))?;
            (v6, port)
        } else {
            let (host, port) = text
                .rsplit_once(':')
                .ok_or_else(|| format!("`{text}`: expected host:port (the port is required)"))?;
            if host.contains(':') {
                return Err(format!(
                    "`{text}`: write an IPv6 address in brackets, [addr]:port"
                ));
            }
            check_host(host)?;
            (host, port)
        };
        let port = match port.parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => return Err(format!("`{port}` is not a port (1-65535)")),
        };
        Ok(HostPort {
            host: host.to_owned(),
            port,
        })
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Checks a DNS name or IPv4 address.
pub(crate) fn check_host(host: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(format!("`{host}` is not a host name or IP address"));
    }
    Ok(())
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HostPort, D::Error> {
        let s = String::deserialize(d)?;
        HostPort::parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_v4_and_bracketed_v6() {
        let h = HostPort::parse("sip.example.net:5060").unwrap();
        assert_eq!((h.host.as_str(), h.port), ("sip.example.net", 5060));
        assert_eq!(
            HostPort::parse("[2001:db8::1]:5061").unwrap().to_string(),
            "[2001:db8::1]:5061"
        );
        assert!(HostPort::parse("192.0.2.1:1720").unwrap().ip().is_some());
        for bad in [
            "host",
            "host:0",
            "host:99999",
            "2001:db8::1:5060",
            "-bad-:5060",
            ":5060",
            "[zz]:1",
        ] {
            assert!(HostPort::parse(bad).is_err(), "{bad}");
        }
    }
}

/// The addresses host names resolved to, filled by the shell (`crate::resolver`) after
/// a configuration is parsed and refreshed while it runs; empty from the parser. The
/// sans-IO cores read peer addresses through [`Hosts::addrs`] only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    by_name: std::collections::BTreeMap<String, Vec<IpAddr>>,
}

impl Hosts {
    /// A table of `name -> addresses` (names compared without case, RFC 4343).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> Hosts {
        Hosts {
            by_name: pairs
                .into_iter()
                .map(|(n, a)| (n.to_ascii_lowercase(), a))
                .collect(),
        }
    }

    /// The socket addresses of `hp`: itself for an IP literal, else what its name
    /// resolved to (in resolver order), else none.
    pub fn addrs(&self, hp: &HostPort) -> Vec<std::net::SocketAddr> {
        if let Some(ip) = hp.ip() {
            return vec![std::net::SocketAddr::new(ip, hp.port)];
        }
        self.by_name
            .get(&hp.host.to_ascii_lowercase())
            .map(|ips| {
                ips.iter()
                    .map(|ip| std::net::SocketAddr::new(*ip, hp.port))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first address of `hp`, if any.
    pub fn first(&self, hp: &HostPort) -> Option<std::net::SocketAddr> {
        self.addrs(hp).into_iter().next()
    }

    /// Number of names with at least one address.
    pub fn resolved(&self) -> usize {
        self.by_name.values().filter(|a| !a.is_empty()).count()
    }
}
