//! Resolves the host names of a configuration (trunk remotes, registrars) to addresses
//! with the system resolver (A/AAAA through getaddrinfo, so /etc/hosts and nsswitch
//! apply). The port is always configured, so no SRV lookup is needed (RFC 3263 §4.2:
//! a port in the URI means A/AAAA only). The result goes into [`Config::hosts`]; the
//! sans-IO cores never resolve anything themselves.

use crate::config::{Config, HostPort, Hosts, TrunkParams};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

/// How long one name may take to resolve; a name that takes longer has no addresses
/// until the next refresh.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the names of the running configuration are resolved again (addresses of
/// carrier SBCs change; the system resolver gives no TTL to follow).
pub const REFRESH: Duration = Duration::from_secs(300);

/// The host names `cfg` uses (IP literals left out).
pub fn names(cfg: &Config) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |hp: &HostPort| {
        if hp.ip().is_none() {
            out.insert(hp.host.to_ascii_lowercase());
        }
    };
    for t in &cfg.trunks {
        match &t.params {
            TrunkParams::Sip(s) => {
                s.remote.iter().for_each(&mut add);
                if let Some(r) = s.register.as_ref().and_then(|r| r.registrar.as_ref()) {
                    add(r);
                }
            }
            TrunkParams::H323(h) => {
                if let Some(r) = &h.remote {
                    add(r);
                }
                if let Some(g) = &h.gatekeeper {
                    add(&g.address);
                }
            }
            _ => {}
        }
    }
    out
}

/// Resolves every name of `cfg`, at most [`LOOKUP_TIMEOUT`] each, all at once. Only
/// addresses of a family the gateway listens on (SIP or H.225.0) are kept: a peer the
/// gateway has no socket for could not be reached. A name that does not resolve is
/// logged and has no addresses (calls to a trunk with none fail over).
pub async fn resolve(cfg: &Config) -> Hosts {
    let families: BTreeSet<bool> = cfg
        .listeners
        .sip
        .iter()
        .map(|l| l.address.is_ipv4())
        .chain(cfg.listeners.h225.iter().map(|l| l.address.is_ipv4()))
        .collect();
    let mut lookups = tokio::task::JoinSet::new();
    for name in names(cfg) {
        lookups.spawn(async move {
            let target = (name.clone(), 0);
            let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host(target)).await;
            let ips: Vec<IpAddr> = match found {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                Ok(Err(e)) => {
                    tracing::warn!(host = %name, error = %e, "host name does not resolve");
                    Vec::new()
                }
                Err(_) => {
                    tracing::warn!(host = %name, "host name lookup timed out");
                    Vec::new()
                }
            };
            (name, ips)
        });
    }
    let mut pairs = Vec::new();
    while let Some(done) = lookups.join_next().await {
        let Ok((name, ips)) = done else { continue };
        let mut kept: Vec<IpAddr> = Vec::new();
        for ip in ips {
            if families.contains(&ip.is_ipv4()) && !kept.contains(&ip) {
                kept.push(ip);
            }
        }
        pairs.push((name, kept));
    }
    Hosts::from_pairs(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "listeners: {sip: [{transport: udp, address: \"127.0.0.1:5060\"}]}\n\
        metrics: {listen: \"127.0.0.1:9464\"}\nroutes: {default: []}\ntrunks:\n\
        - {name: a, kind: sip, remote: [\"localhost:5070\", \"127.0.0.9:5060\"]}\n\
        - {name: h, kind: h323, remote: \"LocalHost:1720\"}\n";

    #[tokio::test]
    // Only names from /etc/hosts: a test must not send a DNS query off the machine.
    async fn names_resolve_to_listened_families() {
        let cfg = Config::parse("t.yaml", CFG).expect("valid");
        assert_eq!(names(&cfg).into_iter().collect::<Vec<_>>(), ["localhost"]);
        let hosts = resolve(&cfg).await;
        let local = HostPort::parse("localhost:5070").unwrap();
        // Only IPv4 is listened on: ::1 is left out.
        assert_eq!(hosts.addrs(&local), vec!["127.0.0.1:5070".parse().unwrap()]);
        assert_eq!(
            hosts.first(&HostPort::parse("LOCALHOST:1720").unwrap()),
            Some("127.0.0.1:1720".parse().unwrap())
        );
        assert!(
            hosts
                .addrs(&HostPort::parse("unresolved.example:5060").unwrap())
                .is_empty()
        );
        assert_eq!(
            hosts.addrs(&HostPort::parse("127.0.0.9:5060").unwrap()),
            vec!["127.0.0.9:5060".parse().unwrap()]
        );
    }
}
