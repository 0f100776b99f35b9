//! OPTIONS keep-alives toward SIP trunks (RFC 3261 §11): every `options_ping_seconds`
//! each remote of the trunk gets an out-of-dialog OPTIONS (Max-Forwards 70).
//!
//! Any response proves the peer alive, 404/405/501 included (§11.2 lets a UAS refuse
//! OPTIONS, and many carriers answer a user-less OPTIONS with 404); only 408, 503 and a
//! transaction that fails (Timer F, transport error) count against it.
//! [`DOWN_AFTER`] failures in a row mark a remote down, one response marks it up again;
//! a trunk is up while any of its remotes is. Remotes start up, so calls flow from the
//! first moment and a dead peer is found by its failures.
//!
//! Sans-IO: OPTIONS leave through the `send` function given to
//! [`TrunkMonitor::handle_timeout`]; answers come back through
//! [`TrunkMonitor::on_response`] / [`TrunkMonitor::on_failure`].

use crate::sip::endpoint::{ClientTxId, IdGenerator, Peer, Transport};
use crate::sip::message::{CSeq, Method, Request, Response, Uri};
use crate::sip::trunks::TrunkDirectory;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Consecutive failed pings that mark a remote down.
pub const DOWN_AFTER: u32 = 2;

/// One SIP trunk as the monitor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingConfig {
    /// The trunk.
    pub trunk: String,
    /// Its remotes (IP literals).
    pub remotes: Vec<SocketAddr>,
    /// Transport toward them.
    pub transport: Transport,
    /// Ping interval; `None`: not pinged, always up.
    pub interval: Option<Duration>,
    /// Our address (From of the OPTIONS).
    pub local: SocketAddr,
}

impl PingConfig {
    /// Every SIP trunk of `cfg`, with its `options_ping_seconds`.
    pub fn from_config(
        cfg: &crate::config::Config,
        local: impl Fn(Transport) -> SocketAddr,
    ) -> Vec<PingConfig> {
        let dir = TrunkDirectory::from_config(cfg);
        cfg.trunks
            .iter()
            .filter_map(|t| {
                let crate::config::TrunkParams::Sip(s) = &t.params else {
                    return None;
                };
                let info = dir.get(&t.name)?;
                Some(PingConfig {
                    trunk: t.name.clone(),
                    remotes: info.remotes.clone(),
                    transport: info.transport,
                    interval: s
                        .options_ping_seconds
                        .map(|s| Duration::from_secs(u64::from(s.max(1)))),
                    local: local(info.transport),
                })
            })
            .collect()
    }
}

/// A change the monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorEvent {
    /// One remote went up or down.
    Remote {
        /// The trunk.
        trunk: String,
        /// The remote.
        remote: SocketAddr,
        /// Its new state.
        up: bool,
    },
    /// A pinged trunk's state: when it is added, and whenever it changes.
    Trunk {
        /// The trunk.
        trunk: String,
        /// Up while any remote is.
        up: bool,
    },
}

#[derive(Debug)]
struct Remote {
    addr: SocketAddr,
    up: bool,
    failures: u32,
}

#[derive(Debug)]
struct Trunk {
    cfg: PingConfig,
    remotes: Vec<Remote>,
    up: bool,
    next: Option<Instant>,
}

impl Trunk {
    fn compute_up(&self) -> bool {
        self.remotes.is_empty() || self.remotes.iter().any(|r| r.up)
    }
}

/// The keep-alive state of every SIP trunk.
pub struct TrunkMonitor {
    trunks: BTreeMap<String, Trunk>,
    /// Pings in flight: trunk and remote.
    pending: HashMap<ClientTxId, (String, SocketAddr)>,
    ids: IdGenerator,
    events: VecDeque<MonitorEvent>,
}

impl TrunkMonitor {
    /// A monitor for `configs`; the first pings are due at `now`.
    pub fn new(now: Instant, seed: u64, configs: Vec<PingConfig>) -> TrunkMonitor {
        let mut m = TrunkMonitor {
            trunks: BTreeMap::new(),
            pending: HashMap::new(),
            ids: IdGenerator::new(seed),
            events: VecDeque::new(),
        };
        m.reconfigure(now, configs);
        m
    }

    /// Applies a new configuration: remotes that stay keep their state; new trunks and
    /// trunks whose interval changed are pinged at `now`.
    pub fn reconfigure(&mut self, now: Instant, configs: Vec<PingConfig>) {
        let mut old = std::mem::take(&mut self.trunks);
        for cfg in configs {
            let prev = old.remove(&cfg.trunk);
            let remotes = cfg
                .remotes
                .iter()
                .map(|&addr| {
                    prev.as_ref()
                        .and_then(|p| p.remotes.iter().find(|r| r.addr == addr))
                        .map_or(
                            Remote {
                                addr,
                                up: true,
                                failures: 0,
                            },
                            |r| Remote {
                                addr,
                                up: r.up,
                                failures: r.failures,
                            },
                        )
                })
                .collect();
            let next = match (&prev, cfg.interval) {
                (_, None) => None,
                (Some(p), Some(_)) if p.cfg.interval == cfg.interval => p.next,
                (_, Some(_)) => Some(now),
            };
            let mut t = Trunk {
                cfg,
                remotes,
                up: true,
                next,
            };
            if t.cfg.interval.is_none() {
                // Not pinged (any more): nothing can mark it down.
                for r in &mut t.remotes {
                    r.up = true;
                    r.failures = 0;
                }
            }
            t.up = t.compute_up();
            let was = prev
                .as_ref()
                .filter(|p| p.cfg.interval.is_some())
                .map(|p| p.up);
            let pinged = t.cfg.interval.is_some();
            if (pinged && was != Some(t.up)) || (!pinged && was == Some(false)) {
                self.events.push_back(MonitorEvent::Trunk {
                    trunk: t.cfg.trunk.clone(),
                    up: t.up,
                });
            }
            self.trunks.insert(t.cfg.trunk.clone(), t);
        }
    }

    /// True unless `trunk` is pinged and none of its remotes answers (unknown trunks
    /// and trunks without pings are up).
    pub fn is_up(&self, trunk: &str) -> bool {
        self.trunks.get(trunk).is_none_or(|t| t.up)
    }

    /// The remotes of `trunk` that are up (all of them without pings).
    pub fn up_remotes(&self, trunk: &str) -> Vec<SocketAddr> {
        self.trunks.get(trunk).map_or_else(Vec::new, |t| {
            t.remotes.iter().filter(|r| r.up).map(|r| r.addr).collect()
        })
    }

    /// The names of the SIP trunks it knows (pinged or not).
    pub fn trunks(&self) -> impl Iterator<Item = &str> + '_ {
        self.trunks.keys().map(String::as_str)
    }

    /// The earliest ping due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.trunks.values().filter_map(|t| t.next).min()
    }

    /// Sends the pings due at `now` through `send`.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        mut send: impl FnMut(Request, Peer) -> ClientTxId,
    ) {
        for t in self.trunks.values_mut() {
            let (Some(next), Some(interval)) = (t.next, t.cfg.interval) else {
                continue;
            };
            if next > now {
                continue;
            }
            // The next one an interval after this one was due, never in the past.
            let mut following = next + interval;
            if following <= now {
                following = now + interval;
            }
            t.next = Some(following);
            for r in &t.remotes {
                let req = options(&t.cfg, r.addr, &mut self.ids);
                let peer = Peer {
                    transport: t.cfg.transport,
                    addr: r.addr,
                    connection: None,
                };
                let tx = send(req, peer);
                self.pending.insert(tx, (t.cfg.trunk.clone(), r.addr));
            }
        }
    }

    /// A response to one of our OPTIONS; false when `tx` is not ours.
    pub fn on_response(&mut self, _now: Instant, tx: ClientTxId, resp: &Response) -> bool {
        if !self.pending.contains_key(&tx) {
            return false;
        }
        if !resp.status.is_final() {
            return true;
        }
        let alive = !matches!(resp.status.0, 408 | 503);
        self.settle(tx, alive);
        true
    }

    /// One of our OPTIONS timed out or could not be sent; false when `tx` is not ours.
    pub fn on_failure(&mut self, _now: Instant, tx: ClientTxId) -> bool {
        if !self.pending.contains_key(&tx) {
            return false;
        }
        self.settle(tx, false);
        true
    }

    fn settle(&mut self, tx: ClientTxId, alive: bool) {
        let Some((trunk, addr)) = self.pending.remove(&tx) else {
            return;
        };
        // The trunk or the remote may have left the configuration meanwhile.
        let Some(t) = self.trunks.get_mut(&trunk) else {
            return;
        };
        if t.cfg.interval.is_none() {
            return;
        }
        let Some(r) = t.remotes.iter_mut().find(|r| r.addr == addr) else {
            return;
        };
        let was = r.up;
        if alive {
            r.failures = 0;
            r.up = true;
        } else {
            r.failures = r.failures.saturating_add(1);
            if r.failures >= DOWN_AFTER {
                r.up = false;
            }
        }
        if r.up != was {
            self.events.push_back(MonitorEvent::Remote {
                trunk: trunk.clone(),
                remote: addr,
                up: r.up,
            });
        }
        let up = t.compute_up();
        if up != t.up {
            t.up = up;
            self.events.push_back(MonitorEvent::Trunk { trunk, up });
        }
    }

    /// The next change, for logs and metrics.
    pub fn poll_event(&mut self) -> Option<MonitorEvent> {
        self.events.pop_front()
    }
}

/// An out-of-dialog OPTIONS to `remote` (§11.1).
fn options(cfg: &PingConfig, remote: SocketAddr, ids: &mut IdGenerator) -> Request {
    let param = match cfg.transport {
        Transport::Udp => "",
        Transport::Tcp => ";transport=tcp",
        Transport::Tls => ";transport=tls",
    };
    let target = format!("sip:{remote}{param}");
    let uri = Uri::parse(&target).unwrap_or(Uri::Other(target.clone()));
    Request::new(Method::Options, uri)
        .with_header("Max-Forwards", "70")
        .with_header(
            "From",
            &format!("<sip:ping@{}>;tag={}", cfg.local, ids.tag()),
        )
        .with_header("To", &format!("<{target}>"))
        .with_header("Call-ID", &ids.call_id())
        .with_header(
            "CSeq",
            &CSeq {
                seq: 1,
                method: Method::Options,
            }
            .to_string(),
        )
        .with_header("Accept", "application/sdp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::SipMessage;

    const A: &str = "192.0.2.1:5060";
    const B: &str = "192.0.2.2:5060";

    fn ping(name: &str, remotes: &[&str], secs: Option<u64>) -> PingConfig {
        PingConfig {
            trunk: name.to_owned(),
            remotes: remotes.iter().map(|r| r.parse().unwrap()).collect(),
            transport: Transport::Udp,
            interval: secs.map(Duration::from_secs),
            local: "198.51.100.1:5060".parse().unwrap(),
        }
    }

    struct Harness {
        m: TrunkMonitor,
        t0: Instant,
        next_tx: u64,
    }

    impl Harness {
        fn new(configs: Vec<PingConfig>) -> Harness {
            let t0 = Instant::now();
            Harness {
                m: TrunkMonitor::new(t0, 3, configs),
                t0,
                next_tx: 1,
            }
        }

        fn at(&self, secs: u64) -> Instant {
            self.t0 + Duration::from_secs(secs)
        }

        fn tick(&mut self, now: Instant) -> Vec<(ClientTxId, Request, Peer)> {
            let mut out = Vec::new();
            let next = &mut self.next_tx;
            self.m.handle_timeout(now, |r, p| {
                let tx = ClientTxId(*next);
                *next += 1;
                out.push((tx, r, p));
                tx
            });
            out
        }

        fn events(&mut self) -> Vec<MonitorEvent> {
            std::iter::from_fn(|| self.m.poll_event()).collect()
        }
    }

    fn reply(req: &Request, status: u16) -> Response {
        let r = Response::for_request(req, status, "").with_to_tag("x");
        match SipMessage::parse(&SipMessage::from(r).to_bytes()).unwrap() {
            SipMessage::Response(r) => r,
            SipMessage::Request(_) => unreachable!(),
        }
    }

    fn remote(addr: &str, up: bool) -> MonitorEvent {
        MonitorEvent::Remote {
            trunk: "carrier".into(),
            remote: addr.parse().unwrap(),
            up,
        }
    }

    fn trunk(up: bool) -> MonitorEvent {
        MonitorEvent::Trunk {
            trunk: "carrier".into(),
            up,
        }
    }

    #[test]
    fn options_every_interval_to_each_remote() {
        let mut h = Harness::new(vec![
            ping("carrier", &[A, B], Some(30)),
            ping("quiet", &[A], None),
        ]);
        assert_eq!(h.events(), [trunk(true)]);
        assert_eq!(h.m.poll_timeout(), Some(h.t0));
        let sent = h.tick(h.t0);
        assert_eq!(sent.len(), 2);
        let (_, r, p) = &sent[0];
        assert_eq!(r.method, Method::Options);
        assert_eq!(r.uri.to_string(), "sip:192.0.2.1:5060");
        assert_eq!(r.headers.get("Max-Forwards"), Some("70"));
        assert_eq!(r.headers.get("To"), Some("<sip:192.0.2.1:5060>"));
        let from = r.headers.from().unwrap().unwrap();
        assert!(from.tag().is_some());
        assert!(
            r.headers.to().unwrap().unwrap().tag().is_none(),
            "out of dialog"
        );
        assert_eq!(r.headers.get("CSeq"), Some("1 OPTIONS"));
        assert_eq!(p.addr, A.parse().unwrap());
        assert_ne!(sent[0].1.headers.call_id(), sent[1].1.headers.call_id());
        assert_eq!(h.m.poll_timeout(), Some(h.at(30)));
        assert!(h.tick(h.at(29)).is_empty());
        assert_eq!(h.tick(h.at(30)).len(), 2);
        // Late wake-up: the next one is an interval from now, not a burst.
        assert_eq!(h.tick(h.at(100)).len(), 2);
        assert_eq!(h.m.poll_timeout(), Some(h.at(130)));
        assert!(h.m.is_up("quiet") && h.m.is_up("unknown"));
        assert_eq!(
            h.m.up_remotes("quiet"),
            vec![A.parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn any_response_is_alive_and_two_failures_are_down() {
        let mut h = Harness::new(vec![ping("carrier", &[A, B], Some(10))]);
        h.events();
        let mut t = h.t0;
        // 404, 405 and 501 all prove the peer alive.
        for status in [404, 405, 501, 200] {
            let sent = h.tick(t);
            for (tx, r, _) in &sent {
                assert!(
                    h.m.on_response(t, *tx, &reply(r, 100)),
                    "provisional is ours"
                );
                assert!(h.m.on_response(t, *tx, &reply(r, status)));
            }
            t += Duration::from_secs(10);
        }
        assert!(h.events().is_empty());
        assert!(h.m.is_up("carrier"));

        // A: one timeout (still up), then a 503 (down). B answers 408 once, then 200.
        let sent = h.tick(t);
        assert!(h.m.on_failure(t, sent[0].0));
        assert!(h.m.on_response(t, sent[1].0, &reply(&sent[1].1, 408)));
        assert!(h.events().is_empty(), "one failure is not down");
        t += Duration::from_secs(10);
        let sent = h.tick(t);
        h.m.on_response(t, sent[0].0, &reply(&sent[0].1, 503));
        h.m.on_response(t, sent[1].0, &reply(&sent[1].1, 200));
        assert_eq!(h.events(), [remote(A, false)]);
        assert!(h.m.is_up("carrier"), "B still answers");
        assert_eq!(
            h.m.up_remotes("carrier"),
            vec![B.parse::<SocketAddr>().unwrap()]
        );

        // B times out twice: the trunk is down.
        for _ in 0..2 {
            t += Duration::from_secs(10);
            let sent = h.tick(t);
            h.m.on_failure(t, sent[0].0);
            h.m.on_failure(t, sent[1].0);
        }
        assert_eq!(h.events(), [remote(B, false), trunk(false)]);
        assert!(!h.m.is_up("carrier"));
        assert!(h.m.up_remotes("carrier").is_empty());

        // Any answer from A brings it and the trunk back.
        t += Duration::from_secs(10);
        let sent = h.tick(t);
        h.m.on_response(t, sent[0].0, &reply(&sent[0].1, 481));
        assert_eq!(h.events(), [remote(A, true), trunk(true)]);
        assert!(h.m.is_up("carrier"));
        assert!(
            !h.m.on_response(t, sent[0].0, &reply(&sent[0].1, 200)),
            "settled"
        );
        assert!(!h.m.on_failure(t, ClientTxId(9999)));
    }

    #[test]
    fn reconfigure_keeps_known_remotes_and_forgets_removed_trunks() {
        let mut h = Harness::new(vec![ping("carrier", &[A], Some(10))]);
        h.events();
        let t = h.t0;
        for _ in 0..2 {
            let sent = h.tick(h.m.poll_timeout().unwrap());
            h.m.on_failure(t, sent[0].0);
        }
        assert!(!h.m.is_up("carrier"));
        h.events();
        // Same remote plus a new one: A stays down, B starts up, the trunk is up.
        h.m.reconfigure(t, vec![ping("carrier", &[A, B], Some(10))]);
        assert_eq!(h.events(), [trunk(true)]);
        assert_eq!(
            h.m.up_remotes("carrier"),
            vec![B.parse::<SocketAddr>().unwrap()]
        );
        // Pings off: every remote counts as up; on again: pinged at once.
        h.m.reconfigure(t, vec![ping("carrier", &[A, B], None)]);
        assert_eq!(h.m.up_remotes("carrier").len(), 2);
        assert_eq!(h.m.poll_timeout(), None);
        h.m.reconfigure(t, vec![ping("carrier", &[A, B], Some(10))]);
        assert_eq!(h.events(), [trunk(true)]);
        // A ping in flight for a trunk that leaves is still ours, and ignored.
        let sent = h.tick(h.m.poll_timeout().unwrap());
        h.m.reconfigure(t, Vec::new());
        assert!(h.m.on_failure(t, sent[0].0));
        assert!(h.events().is_empty());
        assert_eq!(h.m.poll_timeout(), None);
        assert!(h.m.is_up("carrier"));
    }
}
