//! The Via header (RFC 3261 §20.42, §18.2.1 `received`, RFC 3581 `rport`).
//!
//! ```text
//! via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
//! sent-protocol = protocol-name SLASH protocol-version SLASH transport
//! ```

use core::fmt;

use super::error::{ParseError, bad_value};
use super::headers::Headers;
use super::syntax::{Params, is_token, split_outside};
use super::uri::Host;

/// The RFC 3261 branch magic cookie (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// protocol-name (`SIP`).
    pub protocol: String,
    /// protocol-version (`2.0`).
    pub version: String,
    /// Transport token as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS` ... or unknown).
    pub transport: String,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// via-params in order (`branch`, `received`, `rport`, `maddr`, `ttl`, others).
    pub params: Params,
}

impl Via {
    /// A `SIP/2.0/<transport> host[:port];branch=<branch>` value.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::default();
        params.set("branch", Some(branch));
        Via {
            protocol: "SIP".into(),
            version: "2.0".into(),
            transport: transport.into(),
            host,
            port,
            params,
        }
    }

    /// Parses one via-parm; white space is allowed around the slashes (RFC 3261 §25.1
    /// SLASH = SWS "/" SWS).
    pub fn parse(s: &str) -> Result<Via, &'static str> {
        let s = s.trim();
        let (head, params) = match s.split_once(';') {
            Some((h, p)) => (h.trim_end(), Some(p)),
            None => (s, None),
        };
        let mut parts = head.splitn(3, '/');
        // splitn yields at least one piece.
        let protocol = parts.next().unwrap_or_default().trim();
        let version = parts.next().ok_or("no sent-protocol")?.trim();
        let rest = parts.next().ok_or("no transport")?.trim_start();
        let (transport, sent_by) = rest.split_once([' ', '\t']).ok_or("no sent-by")?;
        let sent_by = sent_by.trim();
        if !is_token(protocol) || !is_token(version) || !is_token(transport) {
            return Err("bad sent-protocol");
        }
        if sent_by.contains([' ', '\t']) {
            return Err("white space in sent-by");
        }
        let (host, port) = Host::parse_hostport(sent_by)?;
        Ok(Via {
            protocol: protocol.to_string(),
            version: version.to_string(),
            transport: transport.to_string(),
            host,
            port,
            params: Params::parse_opt(params)?,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// True when the branch starts with the RFC 3261 magic cookie.
    pub fn is_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// The `received` parameter (RFC 3261 §18.2.1), as written; brackets around an IPv6
    /// address are accepted (RFC 5118 §4.5).
    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }

    /// `rport` (RFC 3581 §3): `None` absent, `Some(None)` a bare flag (a request asking
    /// for it), `Some(Some(port))` filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr").flatten()
    }

    /// The `ttl` parameter (0-255).
    pub fn ttl(&self) -> Option<u8> {
        self.params
            .get("ttl")
            .flatten()
            .and_then(|t| t.parse().ok())
    }

    /// Sets `received` and fills `rport` when the value asked for it (RFC 3581 §4).
    pub fn set_received(&mut self, addr: &str, port: Option<u16>) {
        self.params.set("received", Some(addr));
        if let Some(p) = port
            && self.params.contains("rport")
        {
            self.params.set("rport", Some(&p.to_string()));
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol, self.version, self.transport, self.host
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

impl Headers {
    /// Every Via value, top first; an empty element or a value that does not parse is an
    /// error.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.values("Via")
            .map(|v| {
                if v.is_empty() {
                    Err(bad_value("Via", "empty list element"))
                } else {
                    Via::parse(v).map_err(|e| bad_value("Via", e))
                }
            })
            .collect()
    }

    /// The top Via value.
    pub fn top_via(&self) -> Result<Option<Via>, ParseError> {
        match self.values("Via").next() {
            None => Ok(None),
            Some(v) => Via::parse(v).map(Some).map_err(|e| bad_value("Via", e)),
        }
    }

    /// Adds a Via value on top (a proxy or UAC sending a request, RFC 3261 §16.6 step 8).
    pub fn push_via(&mut self, via: &Via) {
        let at = self.position("Via").unwrap_or(0);
        self.insert(at, "Via", &via.to_string());
    }

    /// Removes the top Via value (a response travelling back, RFC 3261 §16.7 step 3) and
    /// returns it as text. A header line holding several values keeps the others.
    pub fn pop_via(&mut self) -> Option<String> {
        let index = self.position("Via")?;
        let (_, line) = self.at(index)?;
        let mut values = split_outside(line, b',');
        // split_outside always yields at least one piece.
        let first = values.next().unwrap_or_default().trim().to_string();
        let rest: Vec<&str> = values.map(str::trim).collect();
        if rest.is_empty() {
            self.remove_at(index);
        } else {
            let joined = rest.join(", ");
            self.set_at(index, &joined);
        }
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_params() {
        let v = Via::parse(
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;received=198.51.100.1;rport=5062;maddr=239.1.1.1;ttl=16;x",
        )
        .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.port, Some(5060));
        assert!(v.is_rfc3261_branch());
        assert_eq!(v.received(), Some("198.51.100.1"));
        assert_eq!(v.rport(), Some(Some(5062)));
        assert_eq!((v.maddr(), v.ttl()), (Some("239.1.1.1"), Some(16)));
        assert!(v.params.contains("X"));
        let v = Via::parse("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.to_string(), "SIP/2.0/UDP 192.0.2.2;branch=390skdjuw");
        let mut v =
            Via::parse("SIP/2.0/TCP [2001:db8::9:255];rport;received=[2001:db8::9:255]").unwrap();
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.host, Host::Ipv6("2001:db8::9:255".into()));
        v.set_received("192.0.2.9", Some(7000));
        assert_eq!(v.rport(), Some(Some(7000)));
        for bad in [
            "SIP/2.0/UDP",
            "SIP/2.0 host",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP a b",
            "SIP/2.0/UDP h:x",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn push_and_pop() {
        let mut h = Headers::new();
        h.push("From", "<sip:a@b>");
        h.push(
            "v",
            "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
        );
        h.push("Via", "SIP/2.0/UDP c;branch=z9hG4bK3");
        let top = Via::new("TCP", Host::Name("gw".into()), Some(5060), "z9hG4bKx");
        h.push_via(&top);
        assert_eq!(h.at(1).unwrap().1, "SIP/2.0/TCP gw:5060;branch=z9hG4bKx");
        assert_eq!(h.vias().unwrap().len(), 4);
        assert_eq!(h.top_via().unwrap().unwrap().branch(), Some("z9hG4bKx"));
        assert_eq!(h.pop_via().unwrap(), "SIP/2.0/TCP gw:5060;branch=z9hG4bKx");
        assert_eq!(h.pop_via().unwrap(), "SIP/2.0/UDP a;branch=z9hG4bK1");
        assert_eq!(h.get("via"), Some("SIP/2.0/UDP b;branch=z9hG4bK2"));
        h.push("Via", "SIP/2.0/UDP 192.0.2.15;;,;,,");
        assert!(h.vias().is_err());
    }
}
