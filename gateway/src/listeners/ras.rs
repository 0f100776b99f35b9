//! RAS sockets (H.225.0 §7, UDP): one per gatekeeper trunk, bound on the address of
//! the first `listeners.ras` entry (else the first H.225.0 listener's) with a port the
//! system picks, so that several trunks never share one. A reader task hands every
//! datagram to the signalling core, which owns the trunk's sans-IO
//! [`RasEndpoint`](crate::h323::ras::RasEndpoint) and sends on the socket itself.

use crate::config::Config;
use crate::h323::ras;
use crate::listeners::sip::SipHandle;
use crate::metrics::Metrics;
use crate::switch::gatekeeper_trunks;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use tokio::net::UdpSocket;
use tracing::{debug, warn};

/// The address RAS sockets bind to and name in RRQ: the configured one, or, when that is
/// unspecified (`0.0.0.0`), the source address the system routes toward `gatekeeper`.
fn bind_ip(cfg: &Config, gatekeeper: SocketAddr) -> IpAddr {
    let configured = cfg
        .listeners
        .ras
        .first()
        .map(|l| l.address.ip())
        .or_else(|| cfg.listeners.h225.first().map(|l| l.address.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !configured.is_unspecified() {
        return configured;
    }
    // A connected UDP socket sends nothing; its local address is the routed source.
    StdUdpSocket::bind(SocketAddr::new(configured, 0))
        .and_then(|s| s.connect(gatekeeper).and_then(|()| s.local_addr()))
        .map_or(configured, |a| a.ip())
}

/// Binds the RAS socket of every gatekeeper trunk of `cfg` and starts its reader.
pub fn start(cfg: &Config, core: SipHandle, metrics: Metrics) {
    for (trunk, gatekeeper) in gatekeeper_trunks(cfg) {
        metrics.h323_registered.with_label_values(&[&trunk]).set(0);
        let ip = bind_ip(cfg, gatekeeper);
        let core = core.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let socket = match UdpSocket::bind(SocketAddr::new(ip, 0)).await {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    warn!(%trunk, %ip, error = %e, "RAS socket not bound; no registration");
                    return;
                }
            };
            let Ok(local) = socket.local_addr() else {
                return;
            };
            if !core.ras_up(&trunk, local, socket.clone()).await {
                return;
            }
            let mut buf = vec![0u8; 4096];
            loop {
                let (n, from) = match socket.recv_from(&mut buf).await {
                    Ok(x) => x,
                    Err(e) => {
                        debug!(%trunk, error = %e, "RAS receive failed");
                        continue;
                    }
                };
                let bytes = buf[..n].to_vec();
                match h323_asn1::h225::decode_ras(&bytes) {
                    Ok(m) => metrics.message("ras", ras::label(&m), "in"),
                    Err(_) => metrics.decode_error("ras"),
                }
                if !core.ras_datagram(&trunk, from, bytes).await {
                    return;
                }
            }
        });
    }
}
