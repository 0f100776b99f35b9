//! The SIP trunks of the configuration as the SIP service needs them: who a request
//! comes from (ingress trunk by source address) and where a call to a trunk goes.

use crate::config::{Config, SipTransport, TrunkParams};
use crate::sip::endpoint::Transport;
use std::net::SocketAddr;

/// One SIP trunk.
#[derive(Debug, Clone, PartialEq)]
pub struct SipTrunkInfo {
    /// The trunk's name.
    pub name: String,
    /// The peer addresses: IP literals, and what host names resolved to.
    pub remotes: Vec<SocketAddr>,
    /// Transport toward the peer.
    pub transport: Transport,
    /// Whether its P-Asserted-Identity is trusted (RFC 3325).
    pub trusted: bool,
    /// Whether it is a trunk of registering users.
    pub has_users: bool,
    /// Digest credentials for its challenges: user, password.
    pub credentials: Option<(String, String)>,
}

/// The SIP trunks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrunkDirectory {
    trunks: Vec<SipTrunkInfo>,
}

impl TrunkDirectory {
    /// The SIP trunks of `cfg`.
    pub fn from_config(cfg: &Config) -> TrunkDirectory {
        let trunks = cfg
            .trunks
            .iter()
            .filter_map(|t| {
                let TrunkParams::Sip(s) = &t.params else {
                    return None;
                };
                Some(SipTrunkInfo {
                    name: t.name.clone(),
                    remotes: s.remote.iter().flat_map(|hp| cfg.hosts.addrs(hp)).collect(),
                    transport: match s.transport {
                        SipTransport::Udp => Transport::Udp,
                        SipTransport::Tcp => Transport::Tcp,
                        SipTransport::Tls => Transport::Tls,
                    },
                    trusted: s.trusted,
                    has_users: !s.users.is_empty(),
                    credentials: s
                        .auth
                        .as_ref()
                        .map(|a| (a.user.clone(), a.password.expose().to_owned())),
                })
            })
            .collect();
        TrunkDirectory { trunks }
    }

    /// The trunk a request from `source` comes in on: one naming exactly this address,
    /// else one naming its IP (peers send from other ports than they listen on).
    pub fn ingress(&self, source: SocketAddr) -> Option<&SipTrunkInfo> {
        self.trunks
            .iter()
            .find(|t| t.remotes.contains(&source))
            .or_else(|| {
                self.trunks
                    .iter()
                    .find(|t| t.remotes.iter().any(|r| r.ip() == source.ip()))
            })
    }

    /// The trunk called `name`.
    pub fn get(&self, name: &str) -> Option<&SipTrunkInfo> {
        self.trunks.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> TrunkDirectory {
        let yaml = "listeners: {sip: [{transport: udp, address: \"127.0.0.1:5060\"}]}\n\
            metrics: {listen: \"127.0.0.1:9464\"}\nroutes: {default: []}\ntrunks:\n\
            - {name: a, kind: sip, remote: \"127.0.0.2:5060\"}\n\
            - {name: b, kind: sip, remote: [\"127.0.0.3:5060\", \"127.0.0.2:5070\"], trusted: true}\n\
            - {name: phones, kind: sip, users: [{name: \"3000\", password: pw}]}\n";
        TrunkDirectory::from_config(&Config::parse("t.yaml", yaml).expect("valid"))
    }

    #[test]
    fn exact_address_wins_over_ip() {
        let d = dir();
        let from = |s: &str| d.ingress(s.parse().unwrap()).map(|t| t.name.as_str());
        assert_eq!(from("127.0.0.2:5070"), Some("b"));
        assert_eq!(from("127.0.0.2:5060"), Some("a"));
        assert_eq!(from("127.0.0.2:40000"), Some("a"));
        assert_eq!(from("127.0.0.3:1"), Some("b"));
        assert_eq!(from("127.0.0.9:5060"), None);
        assert!(
            d.get("phones")
                .is_some_and(|t| t.has_users && t.remotes.is_empty())
        );
        assert!(d.get("b").is_some_and(|t| t.trusted));
    }

    #[test]
    fn host_names_are_reached_at_what_they_resolved_to() {
        let yaml = "listeners: {sip: [{transport: udp, address: \"127.0.0.1:5060\"}]}\n\
            metrics: {listen: \"127.0.0.1:9464\"}\nroutes: {default: []}\ntrunks:\n\
            - {name: sbc, kind: sip, remote: [\"sbc.carrier.example:5060\", \"unresolved.example:5060\"]}\n";
        let mut cfg = Config::parse("t.yaml", yaml).expect("valid");
        assert!(
            TrunkDirectory::from_config(&cfg)
                .get("sbc")
                .unwrap()
                .remotes
                .is_empty()
        );
        cfg.hosts = crate::config::Hosts::from_pairs([(
            "SBC.carrier.example".to_owned(),
            vec!["192.0.2.7".parse().unwrap(), "192.0.2.8".parse().unwrap()],
        )]);
        let d = TrunkDirectory::from_config(&cfg);
        assert_eq!(
            d.get("sbc").unwrap().remotes,
            [
                "192.0.2.7:5060".parse().unwrap(),
                "192.0.2.8:5060".parse().unwrap()
            ]
        );
        assert_eq!(
            d.ingress("192.0.2.8:41000".parse().unwrap())
                .map(|t| t.name.as_str()),
            Some("sbc")
        );
    }
}
