//! The sockets the daemon listens on, bound from the configuration and rebound on reload.
//!
//! The SIP tasks feed the sans-IO SIP service (see [`sip`]); the H.225.0 task is a
//! stand-in until the H.323 leg lands: it frames and counts TPKTs. Framing is sans-IO
//! ([`sip_framing`], [`tpkt`]); the tasks only move bytes.

#[cfg(feature = "dahdi")]
pub mod dahdi;
pub mod h225;
pub mod h245;
pub mod pseudowire;
pub mod ras;
pub mod sip;
pub mod sip_framing;
pub mod sip_head;
pub mod span;
pub mod tpkt;

use crate::admission::Admission;
use crate::config::{Config, SipTransport};
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// What the listener tasks share.
pub struct Context {
    /// The metrics.
    pub metrics: Metrics,
    /// Call admission (refuses new calls while draining).
    pub admission: Admission,
    /// The SIP core task.
    pub sip: sip::SipHandle,
    /// The certificates of the SIP/TLS listeners, read at each accept (so a reload
    /// with a renewed certificate applies to new connections).
    pub tls: TlsServers,
}

/// The server TLS configuration of each SIP/TLS listener, by configured address.
#[derive(Clone, Default)]
pub struct TlsServers(Arc<std::sync::RwLock<HashMap<SocketAddr, Arc<rustls::ServerConfig>>>>);

impl TlsServers {
    /// Loads the certificates of `config`'s TLS listeners. One that cannot be loaded
    /// (a file changed since `check-config`) is logged; its listener then closes every
    /// connection until a reload gives it a usable one.
    pub fn load(&self, config: &Config) {
        let mut map = HashMap::new();
        for l in &config.listeners.sip {
            let (SipTransport::Tls, Some(files)) = (l.transport, &l.tls) else {
                continue;
            };
            match crate::tls::server_config(files) {
                Ok(c) => {
                    map.insert(l.address, c);
                }
                Err(e) => {
                    warn!(address = %l.address, error = %e, "SIP/TLS listener has no usable certificate")
                }
            }
        }
        if let Ok(mut w) = self.0.write() {
            *w = map;
        }
    }

    /// The configuration of the listener configured at `addr`.
    pub fn get(&self, addr: SocketAddr) -> Option<Arc<rustls::ServerConfig>> {
        self.0.read().ok()?.get(&addr).cloned()
    }
}

/// Open connections per TCP listener; past this, new connections are closed at once.
const MAX_CONNECTIONS: usize = 1024;

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// SIP over UDP.
    SipUdp,
    /// SIP over TCP.
    SipTcp,
    /// SIP over TLS over TCP.
    SipTls,
    /// H.225.0 call signalling over TCP.
    H225,
    /// The HTTP listener for `/metrics` and `/healthz`.
    Metrics,
}

/// One listening socket: what it serves and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// What it serves.
    pub kind: Kind,
    /// Where.
    pub addr: SocketAddr,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::SipUdp => "SIP/UDP",
            Kind::SipTcp => "SIP/TCP",
            Kind::SipTls => "SIP/TLS",
            Kind::H225 => "H.225.0/TCP",
            Kind::Metrics => "metrics HTTP",
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} listener on {}", self.kind, self.addr)
    }
}

/// A listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind {endpoint}: {source}")]
pub struct BindError {
    /// The listener.
    pub endpoint: Endpoint,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// The endpoints a configuration asks for, signalling first and metrics last, so that
/// once `/healthz` answers every signalling socket is bound.
pub fn endpoints(config: &Config) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for l in &config.listeners.sip {
        let kind = match l.transport {
            SipTransport::Udp => Kind::SipUdp,
            SipTransport::Tcp => Kind::SipTcp,
            SipTransport::Tls => Kind::SipTls,
        };
        out.push(Endpoint {
            kind,
            addr: l.address,
        });
    }
    for l in &config.listeners.h225 {
        out.push(Endpoint {
            kind: Kind::H225,
            addr: l.address,
        });
    }
    out.push(Endpoint {
        kind: Kind::Metrics,
        addr: config.metrics.listen,
    });
    let mut seen = std::collections::HashSet::new();
    out.retain(|e| seen.insert(*e));
    out
}

/// A bound socket, not yet served.
enum Bound {
    SipUdp(UdpSocket),
    SipTcp(TcpListener),
    SipTls(TcpListener),
    H225(TcpListener),
    Metrics(TcpListener),
}

impl Bound {
    async fn bind(endpoint: Endpoint) -> Result<Bound, BindError> {
        let addr = endpoint.addr;
        let r = match endpoint.kind {
            Kind::SipUdp => UdpSocket::bind(addr).await.map(Bound::SipUdp),
            Kind::SipTcp => TcpListener::bind(addr).await.map(Bound::SipTcp),
            Kind::SipTls => TcpListener::bind(addr).await.map(Bound::SipTls),
            Kind::H225 => TcpListener::bind(addr).await.map(Bound::H225),
            Kind::Metrics => TcpListener::bind(addr).await.map(Bound::Metrics),
        };
        r.map_err(|source| BindError { endpoint, source })
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Bound::SipUdp(s) => s.local_addr(),
            Bound::SipTcp(l) | Bound::SipTls(l) | Bound::H225(l) | Bound::Metrics(l) => {
                l.local_addr()
            }
        }
    }

    fn serve(self, endpoint: Endpoint, ctx: Arc<Context>) -> JoinHandle<()> {
        match self {
            Bound::SipUdp(s) => tokio::spawn(sip::serve_udp(s, ctx)),
            Bound::SipTcp(l) => tokio::spawn(sip::serve_tcp(l, ctx)),
            Bound::SipTls(l) => tokio::spawn(sip::serve_tls(l, endpoint.addr, ctx)),
            Bound::H225(l) => tokio::spawn(h225::serve(l, ctx)),
            Bound::Metrics(l) => tokio::spawn(crate::http::serve(l, ctx)),
        }
    }
}

/// What a [`ListenerSet::reconcile`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Newly bound.
    pub added: Vec<Endpoint>,
    /// Closed.
    pub removed: Vec<Endpoint>,
}

/// The running listeners, one task each.
pub struct ListenerSet {
    ctx: Arc<Context>,
    running: HashMap<Endpoint, JoinHandle<()>>,
}

impl ListenerSet {
    /// No listeners yet.
    pub fn new(ctx: Arc<Context>) -> ListenerSet {
        ListenerSet {
            ctx,
            running: HashMap::new(),
        }
    }

    /// Makes the running listeners those of `desired`: unchanged ones keep running (and
    /// their connections), new ones are bound, dropped ones are closed. All or nothing:
    /// when a new socket cannot be bound, the running set is left as it was.
    pub async fn reconcile(&mut self, desired: &[Endpoint]) -> Result<Changes, BindError> {
        let to_add: Vec<Endpoint> = desired
            .iter()
            .filter(|e| !self.running.contains_key(e))
            .copied()
            .collect();
        let to_remove: Vec<Endpoint> = self
            .running
            .keys()
            .filter(|e| !desired.contains(e))
            .copied()
            .collect();

        let bound = match bind_all(&to_add).await {
            Ok(bound) => bound,
            Err(e) if to_remove.is_empty() => return Err(e),
            Err(_) => {
                // The new address may overlap one being dropped (127.0.0.1:P -> 0.0.0.0:P):
                // close the dropped ones, retry, and put them back if that fails too.
                self.stop(&to_remove).await;
                match bind_all(&to_add).await {
                    Ok(bound) => bound,
                    Err(e) => {
                        if let Ok(old) = bind_all(&to_remove).await {
                            self.spawn_all(old);
                        } else {
                            warn!("could not rebind the previous listeners after a failed reload");
                        }
                        return Err(e);
                    }
                }
            }
        };
        self.stop(&to_remove).await;
        self.spawn_all(bound);
        Ok(Changes {
            added: to_add,
            removed: to_remove,
        })
    }

    /// Closes every listener (established connections are left to finish).
    pub async fn stop_all(&mut self) {
        let all: Vec<Endpoint> = self.running.keys().copied().collect();
        self.stop(&all).await;
    }

    async fn stop(&mut self, endpoints: &[Endpoint]) {
        for e in endpoints {
            if let Some(task) = self.running.remove(e) {
                task.abort();
                // Waiting for the aborted task makes sure its socket is closed.
                let _ = task.await;
                info!(listener = %e.kind, address = %e.addr, "closed");
            }
        }
    }

    fn spawn_all(&mut self, bound: Vec<(Endpoint, Bound)>) {
        for (endpoint, socket) in bound {
            // The bound address differs from the configured one for port 0.
            let address = socket.local_addr().unwrap_or(endpoint.addr);
            info!(listener = %endpoint.kind, %address, "listening");
            self.running
                .insert(endpoint, socket.serve(endpoint, self.ctx.clone()));
        }
    }
}

async fn bind_all(endpoints: &[Endpoint]) -> Result<Vec<(Endpoint, Bound)>, BindError> {
    let mut bound = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        bound.push((*e, Bound::bind(*e).await?));
    }
    Ok(bound)
}

/// Accepts TCP connections and runs `handle` on each in its own task, at most
/// [`MAX_CONNECTIONS`] at a time.
pub(crate) async fn accept_loop<F, Fut>(listener: TcpListener, what: &'static str, mut handle: F)
where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                warn!(listener = what, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            debug!(listener = what, %peer, "connection limit reached; closing");
            continue;
        };
        let connection = handle(stream, peer);
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ctx() -> Arc<Context> {
        let metrics = Metrics::new();
        let admission = Admission::new(metrics.active_calls.clone(), metrics.draining.clone());
        Arc::new(Context {
            metrics,
            admission,
            sip: sip::SipHandle::detached(),
            tls: TlsServers::default(),
        })
    }

    #[test]
    fn default_config_endpoints() {
        let eps = endpoints(&Config::embedded_default());
        let kinds: Vec<Kind> = eps.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [Kind::SipUdp, Kind::SipTcp, Kind::H225, Kind::Metrics]
        );
        assert!(eps.iter().all(|e| e.addr.ip().is_loopback()));
    }

    #[tokio::test]
    async fn reconcile_keeps_unchanged_rebinds_changed_and_is_all_or_nothing() {
        let free = |kind| Endpoint {
            kind,
            addr: "127.0.0.1:0".parse().expect("literal address"),
        };
        // Port 0 binds a fresh port each time, so use a concrete one from a probe.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback bind");
        let taken = Endpoint {
            kind: Kind::SipTcp,
            addr: probe.local_addr().expect("bound"),
        };
        let mut set = ListenerSet::new(ctx());
        let h225 = free(Kind::H225);
        let first = set.reconcile(&[h225]).await.expect("binds");
        assert_eq!(first.added, [h225]);

        // A port in use fails the whole change; the running listener stays.
        let err = set.reconcile(&[taken]).await.expect_err("port in use");
        assert_eq!(err.endpoint, taken);
        assert!(
            err.to_string()
                .starts_with("cannot bind SIP/TCP listener on 127.0.0.1:")
        );
        assert!(set.running.contains_key(&h225));

        drop(probe);
        let changes = set.reconcile(&[h225, taken]).await.expect("now free");
        assert_eq!(
            changes,
            Changes {
                added: vec![taken],
                removed: vec![]
            }
        );
        let changes = set.reconcile(&[taken]).await.expect("drop one");
        assert_eq!(
            changes,
            Changes {
                added: vec![],
                removed: vec![h225]
            }
        );
        std::net::TcpListener::bind(taken.addr).expect_err("still served");
        set.stop_all().await;
        std::net::TcpListener::bind(taken.addr).expect("closed on stop");
    }
}
