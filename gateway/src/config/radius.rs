//! `radius:` RADIUS accounting (RFC 2866) and authorisation (RFC 2865).

use super::host_port::check_host;
use super::secret::Secret;
use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::path::PathBuf;

/// `radius:` optional; absent means no RADIUS.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Radius {
    /// Servers, tried in order: the next one when a request times out `retries` times.
    pub servers: Vec<RadiusServer>,
    /// Seconds to wait for an answer before sending again. Default 3.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Retransmissions to one server before the next is tried. Default 3.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Accounting requests no server answered are kept here and sent again later, so
    /// billing survives a RADIUS outage and a restart. Default `/var/lib/gateway/radius`.
    #[serde(default = "default_spool")]
    pub spool_directory: PathBuf,
    /// NAS-Identifier sent in every request; default `general.node_name`.
    #[serde(default)]
    pub nas_identifier: Option<String>,
    /// Trunks whose incoming calls are authorised by an Access-Request before they are
    /// routed. Default none.
    #[serde(default)]
    pub authenticate: Vec<String>,
    /// Q.850 cause a call gets when the server answers Access-Reject. Default 21 (call
    /// rejected; SIP 603 by the cause table).
    #[serde(default = "default_reject_cause")]
    pub reject_cause: u8,
    /// Q.850 cause a call gets when no server answers its Access-Request. Default 41
    /// (temporary failure; SIP 503).
    #[serde(default = "default_unavailable_cause")]
    pub unavailable_cause: u8,
    /// User-Password of Access-Requests; absent: the calling number.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Seconds between Interim-Updates of an answered call; absent: none.
    #[serde(default)]
    pub interim_seconds: Option<u64>,
    /// Accounting Start when a call is routed, so every attempt has Start and Stop;
    /// false (default): Start at answer, only answered calls are accounted.
    #[serde(default)]
    pub start_at_attempt: bool,
    /// Seconds the spool waits after every server failed before it is sent again.
    /// Default 30.
    #[serde(default = "default_retry_interval")]
    pub retry_interval_seconds: u64,
    /// Refuse an answer to an Access-Request without a valid Message-Authenticator
    /// (RFC 3579 §3.2), so a forged Access-Accept cannot pass. Default true; servers
    /// that do not sign their answers by themselves (FreeRADIUS before 3.2.5) need
    /// `Message-Authenticator := 0x00` among their reply items.
    #[serde(default = "default_true")]
    pub require_message_authenticator: bool,
}

fn default_true() -> bool {
    true
}

fn default_reject_cause() -> u8 {
    21
}
fn default_unavailable_cause() -> u8 {
    41
}
fn default_retry_interval() -> u64 {
    30
}

fn default_timeout() -> u64 {
    3
}
fn default_retries() -> u32 {
    3
}
fn default_spool() -> PathBuf {
    PathBuf::from("/var/lib/gateway/radius")
}

/// One RADIUS server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusServer {
    /// Host name or IP address (no port: see `auth_port` and `acct_port`).
    pub address: RadiusHost,
    /// Shared secret (never logged).
    pub secret: Secret,
    /// Authorisation port (Access-Request); absent: not used for authorisation.
    #[serde(default)]
    pub auth_port: Option<u16>,
    /// Accounting port (Accounting-Request Start/Stop); `null`: not used for
    /// accounting. Default 1813.
    #[serde(default = "default_acct_port")]
    pub acct_port: Option<u16>,
}

fn default_acct_port() -> Option<u16> {
    Some(1813)
}

/// A RADIUS server host: DNS name, IPv4 or IPv6 address (without brackets or port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusHost(pub String);

impl<'de> Deserialize<'de> for RadiusHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RadiusHost, D::Error> {
        let s = String::deserialize(d)?;
        if s.parse::<std::net::IpAddr>().is_err() {
            check_host(&s).map_err(|e| D::Error::custom(format!("{e} (give the ports apart)")))?;
        }
        Ok(RadiusHost(s))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const BASE: &str = "listeners:\n  sip:\n    - { transport: udp, address: \"127.0.0.1:5060\" }\n\
        metrics:\n  listen: \"127.0.0.1:9464\"\n\
        trunks:\n  - { name: pbx, kind: sip, remote: \"127.0.0.2:5060\" }\n";

    fn errors(radius: &str) -> Vec<String> {
        match Config::parse("t.yaml", &format!("{BASE}radius:\n{radius}")) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn defaults_and_the_new_keys() {
        let c = Config::parse(
            "t.yaml",
            &format!(
                "{BASE}radius:\n  servers: [{{ address: 127.0.0.1, secret: s, auth_port: 1812 }}]\n  \
                 authenticate: [pbx]\n  interim_seconds: 60\n"
            ),
        )
        .expect("valid");
        let r = c.radius.expect("radius");
        assert_eq!(r.authenticate, ["pbx"]);
        assert_eq!((r.reject_cause, r.unavailable_cause), (21, 41));
        assert_eq!(r.interim_seconds, Some(60));
        assert_eq!(r.retry_interval_seconds, 30);
        assert!(r.require_message_authenticator && !r.start_at_attempt);
    }

    #[test]
    fn bad_values_are_reported_by_field() {
        let e = errors(
            "  servers: [{ address: 127.0.0.1, secret: s }]\n  authenticate: [nope]\n  \
             reject_cause: 0\n  interim_seconds: 0\n  retry_interval_seconds: 0\n",
        );
        let all = e.join("\n");
        for want in [
            "radius.authenticate[0]: unknown trunk `nope`",
            "radius.authenticate: no server has an `auth_port`",
            "radius.reject_cause: a Q.850 cause is 1..=127",
            "radius.interim_seconds: must be at least 1",
            "radius.retry_interval_seconds: must be at least 1",
        ] {
            assert!(all.contains(want), "{want} in:\n{all}");
        }
    }
}
