//! The RADIUS client, sans-IO: Access-Requests for calls before routing, accounting
//! Start/Interim-Update/Stop for calls, retransmission with backoff, failover across
//! servers in configuration order, and the accounting spool.
//!
//! Failover: a request that a server does not answer goes to the next server in
//! configuration order, round the list once. New requests go to the server that last
//! answered (so a dead first server does not delay every call), and back to the first
//! after every server failed.
//!
//! The shell feeds it datagrams, `now` and the wall clock, and carries out its
//! [`ClientOutput`]s in order: a [`ClientOutput::SpoolWrite`] is always output before
//! the first transmission of its request, so a shell that finishes the write (and its
//! fsync) before it sends the next output never sends what is not on disk.
//!
//! Identifiers and retransmission follow RFC 5080 §2.2.1: a retransmission to the same
//! server is the same packet (same Identifier and Request Authenticator), so a server's
//! duplicate detection sees it as one; a request sent to another server, or again after
//! an outage, is a new packet with a new Identifier and an Acct-Delay-Time (RFC 2866
//! §5.2) counting from the event. The Acct-Session-Id never changes.

use super::attrs::{AuthQuery, Nas, access_attrs, accounting_attrs};
use super::dict::{AcctStatus, AttrType, CiscoAttr};
use super::packet::{
    Attr, Code, Packet, encode_access_request, encode_accounting_request, verify_response,
};
use super::spool::SpoolRecord;
use crate::switch::CallRecord;
use md5::{Digest, Md5};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One server, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Its name in metrics and logs (the configured address).
    pub name: String,
    /// Where Access-Requests go; None: not used for authentication.
    pub auth: Option<SocketAddr>,
    /// Where Accounting-Requests go; None: not used for accounting.
    pub acct: Option<SocketAddr>,
    /// The shared secret.
    pub secret: Vec<u8>,
}

/// What the client works with.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Servers in the order they are tried.
    pub servers: Vec<Server>,
    /// The first retransmission timeout (RFC 5080's IRT); doubled at each
    /// retransmission, up to [`MAX_BACKOFF`] times.
    pub timeout: Duration,
    /// Retransmissions to one server before the next is tried.
    pub retries: u32,
    /// After every server failed an accounting request: wait this long before the
    /// spool is sent again.
    pub retry_interval: Duration,
    /// Interim-Update interval; None: no interims.
    pub interim: Option<Duration>,
    /// Accounting Start when a call is routed (every attempt gets Start and Stop);
    /// false: at answer (only answered calls are accounted).
    pub start_at_attempt: bool,
    /// User-Password of Access-Requests; None: the calling number.
    pub password: Option<String>,
    /// Refuse Access answers without a Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Who the gateway is.
    pub nas: Nas,
}

/// Largest factor the retransmission timeout grows to (RFC 5080 §2.2.1 MRT-like cap).
pub const MAX_BACKOFF: u32 = 8;
/// Accounting requests in flight at once (the rest wait in the spool, in order).
pub const ACCT_WINDOW: usize = 32;

/// The client's timers (the next deadline is the earliest of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A request's retransmission timeout (RFC 5080 IRT, doubled per retransmission).
    Retransmit(u8),
    /// A call's next Interim-Update (RFC 2869 §2.1).
    Interim(u64),
    /// Every server failed accounting: the spool waits until this passes.
    SpoolRetry,
}

/// The answer to a call's Access-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAnswer {
    /// Access-Accept; `limit` is the credit (the smaller of Session-Timeout and
    /// h323-credit-time) when the server gave one.
    Accept {
        /// The longest the call may last after answer.
        limit: Option<Duration>,
    },
    /// Access-Reject (or a Challenge, which a call cannot answer).
    Reject,
    /// No server answered.
    Unavailable,
}

/// Request kinds, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Access-Request.
    Auth,
    /// Accounting-Request.
    Acct,
}

impl Kind {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Auth => "auth",
            Kind::Acct => "acct",
        }
    }
}

/// Something for metrics and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A request was sent (first transmission or retransmission).
    Sent {
        /// Server name.
        server: String,
        /// Which port.
        kind: Kind,
        /// True for a retransmission of the same packet.
        retransmission: bool,
    },
    /// A server did not answer a request after every retransmission.
    Timeout {
        /// Server name.
        server: String,
        /// Which port.
        kind: Kind,
    },
    /// A server refused a call.
    Rejected {
        /// Server name.
        server: String,
    },
    /// A datagram that is no valid answer to anything in flight was dropped.
    Dropped {
        /// Why.
        reason: &'static str,
    },
}

/// What the client asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOutput {
    /// Send a datagram.
    Transmit {
        /// To.
        to: SocketAddr,
        /// The packet.
        bytes: Vec<u8>,
    },
    /// Write this record to the spool (durably) before going on.
    SpoolWrite(SpoolRecord),
    /// A server acknowledged this record: remove it.
    SpoolRemove(u64),
    /// The answer to a call's Access-Request.
    Auth {
        /// The call.
        call: u64,
        /// The answer.
        answer: AuthAnswer,
    },
    /// For metrics and logs.
    Notice(Notice),
}

/// An accounting point of a call, as the switch reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum CallPoint {
    /// The call was routed (an attempt starts).
    Attempt(Box<CallRecord>),
    /// The call was answered.
    Answer(Box<CallRecord>),
    /// The call ended (with its media figures).
    End(Box<CallRecord>),
}

#[derive(Debug, Clone)]
enum What {
    Auth { call: u64, query: AuthQuery },
    Acct { key: u64 },
}

#[derive(Debug, Clone)]
struct InFlight {
    what: What,
    server: usize,
    /// The server this request was first sent to: failover goes round the list once.
    origin: usize,
    to: SocketAddr,
    bytes: Vec<u8>,
    request_auth: [u8; 16],
    transmissions: u32,
    deadline: Instant,
}

#[derive(Debug, Clone)]
struct Session {
    record: CallRecord,
    started: bool,
    next_interim: Option<Instant>,
}

/// The client.
pub struct Client {
    cfg: ClientConfig,
    inflight: BTreeMap<u8, InFlight>,
    next_id: u8,
    /// Accounting records not yet acknowledged, in order.
    spool: BTreeMap<u64, SpoolRecord>,
    /// Those of them in flight.
    sending: BTreeSet<u64>,
    next_key: u64,
    spool_retry: Option<Instant>,
    /// Access-Requests waiting for a free identifier.
    auth_waiting: VecDeque<(u64, AuthQuery)>,
    sessions: HashMap<u64, Session>,
    interims: BTreeSet<(Instant, u64)>,
    /// The server new requests go to, per kind (auth, acct): the last one that
    /// answered; back to the first after every server failed.
    preferred: [usize; 2],
    rng_seed: [u8; 16],
    rng_counter: u64,
    out: VecDeque<ClientOutput>,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Client {
    /// A client; `seed` makes the Request Authenticators (RFC 2865 §3: unpredictable),
    /// so it must come from a good source of randomness.
    pub fn new(cfg: ClientConfig, seed: [u8; 16]) -> Client {
        Client {
            cfg,
            inflight: BTreeMap::new(),
            next_id: 0,
            spool: BTreeMap::new(),
            sending: BTreeSet::new(),
            next_key: 1,
            spool_retry: None,
            auth_waiting: VecDeque::new(),
            sessions: HashMap::new(),
            interims: BTreeSet::new(),
            preferred: [0, 0],
            rng_seed: seed,
            rng_counter: 0,
            out: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Records found in the spool at start: sent again, in key order, and new keys
    /// continue after the largest.
    pub fn restore(&mut self, now: Instant, wall: SystemTime, records: Vec<SpoolRecord>) {
        for r in records {
            self.next_key = self.next_key.max(r.key + 1);
            self.spool.insert(r.key, r);
        }
        self.pump_acct(now, wall);
    }

    /// Accounting records not yet acknowledged.
    pub fn spool_depth(&self) -> usize {
        self.spool.len()
    }

    /// Accounting requests sent and not yet answered or given up.
    pub fn acct_in_flight(&self) -> usize {
        self.sending.len()
    }

    /// Calls with an accounting session (answered, or routed with `start_at_attempt`).
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Asks whether a call may go on.
    pub fn authorize(&mut self, now: Instant, query: AuthQuery) {
        let call = query.call;
        match self.start_server(Kind::Auth) {
            Some(s) => {
                if !self.send_auth(now, s, s, call, query.clone()) {
                    self.auth_waiting.push_back((call, query));
                }
            }
            None => self.out.push_back(ClientOutput::Auth {
                call,
                answer: AuthAnswer::Unavailable,
            }),
        }
    }

    /// A call reached an accounting point.
    pub fn call_point(&mut self, now: Instant, wall: SystemTime, point: CallPoint) {
        match point {
            CallPoint::Attempt(r) => {
                if self.cfg.start_at_attempt {
                    self.account(now, wall, &r, AcctStatus::START);
                    self.sessions.insert(
                        r.call,
                        Session {
                            record: *r,
                            started: true,
                            next_interim: None,
                        },
                    );
                }
            }
            CallPoint::Answer(r) => {
                let call = r.call;
                let started = self.sessions.get(&call).is_some_and(|s| s.started);
                if !started {
                    self.account(now, wall, &r, AcctStatus::START);
                }
                let next = self.cfg.interim.map(|i| now + i);
                if let Some(at) = next {
                    self.interims.insert((at, call));
                }
                if let Some(old) = self.sessions.insert(
                    call,
                    Session {
                        record: *r,
                        started: true,
                        next_interim: next,
                    },
                ) && let Some(at) = old.next_interim
                {
                    self.interims.remove(&(at, call));
                }
            }
            CallPoint::End(r) => {
                if let Some(s) = self.sessions.remove(&r.call) {
                    if let Some(at) = s.next_interim {
                        self.interims.remove(&(at, r.call));
                    }
                    if s.started {
                        self.account(now, wall, &r, AcctStatus::STOP);
                    }
                }
            }
        }
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retransmit = self.inflight.values().map(|f| f.deadline).min();
        [
            retransmit,
            self.interims.first().map(|i| i.0),
            self.spool_retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The timers due at `now`, by name (for tests and logs).
    pub fn due(&self, now: Instant) -> Vec<Timer> {
        let mut v: Vec<Timer> = self
            .inflight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(id, _)| Timer::Retransmit(*id))
            .collect();
        v.extend(
            self.interims
                .iter()
                .take_while(|i| i.0 <= now)
                .map(|i| Timer::Interim(i.1)),
        );
        if self.spool_retry.is_some_and(|t| t <= now) {
            v.push(Timer::SpoolRetry);
        }
        v
    }

    /// Fires what is due.
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        for t in self.due(now) {
            match t {
                Timer::Retransmit(id) => self.retransmit(now, wall, id),
                Timer::Interim(call) => self.interim(now, wall, call),
                Timer::SpoolRetry => {
                    self.spool_retry = None;
                    self.pump_acct(now, wall);
                }
            }
        }
    }

    /// A datagram from `from`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        wall: SystemTime,
        from: SocketAddr,
        bytes: &[u8],
    ) {
        let Some(&id) = bytes.get(1) else {
            return self.dropped("short");
        };
        let Some(f) = self.inflight.get(&id).filter(|f| f.to == from) else {
            return self.dropped("no request with this identifier");
        };
        let is_auth = matches!(f.what, What::Auth { .. });
        let secret = &self.cfg.servers[f.server].secret;
        let need_ma = is_auth && self.cfg.require_message_authenticator;
        if verify_response(bytes, &f.request_auth, secret, need_ma).is_err() {
            return self.dropped("authenticator");
        }
        let Ok(p) = Packet::decode(bytes) else {
            return self.dropped("malformed");
        };
        let expected: &[Code] = if is_auth {
            &[
                Code::ACCESS_ACCEPT,
                Code::ACCESS_REJECT,
                Code::ACCESS_CHALLENGE,
            ]
        } else {
            &[Code::ACCOUNTING_RESPONSE]
        };
        if !expected.contains(&p.code) {
            return self.dropped("unexpected code");
        }
        let Some(f) = self.inflight.remove(&id) else {
            return;
        };
        self.preferred[usize::from(!is_auth)] = f.server;
        match f.what {
            What::Auth { call, .. } => {
                let answer = if p.code == Code::ACCESS_ACCEPT {
                    AuthAnswer::Accept { limit: credit(&p) }
                } else {
                    self.notice(Notice::Rejected {
                        server: self.cfg.servers[f.server].name.clone(),
                    });
                    AuthAnswer::Reject
                };
                self.out.push_back(ClientOutput::Auth { call, answer });
                self.next_waiting_auth(now);
            }
            What::Acct { key } => {
                self.sending.remove(&key);
                if self.spool.remove(&key).is_some() {
                    self.out.push_back(ClientOutput::SpoolRemove(key));
                }
                // A server answers again: whatever waits goes now.
                self.spool_retry = None;
            }
        }
        self.pump_acct(now, wall);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<ClientOutput> {
        self.out.pop_front()
    }

    // ----- internals ---------------------------------------------------------------

    fn dropped(&mut self, reason: &'static str) {
        self.notice(Notice::Dropped { reason });
    }

    fn notice(&mut self, n: Notice) {
        self.out.push_back(ClientOutput::Notice(n));
    }

    fn port(&self, server: usize, kind: Kind) -> Option<SocketAddr> {
        let s = self.cfg.servers.get(server)?;
        match kind {
            Kind::Auth => s.auth,
            Kind::Acct => s.acct,
        }
    }

    /// The first server at or after `from` with a port for `kind`.
    fn first_server(&self, from: usize, kind: Kind) -> Option<usize> {
        (from..self.cfg.servers.len()).find(|&s| self.port(s, kind).is_some())
    }

    fn slot(kind: Kind) -> usize {
        match kind {
            Kind::Auth => 0,
            Kind::Acct => 1,
        }
    }

    /// Where a new request of `kind` goes: the preferred server.
    fn start_server(&self, kind: Kind) -> Option<usize> {
        let p = self.preferred[Client::slot(kind)];
        if self.port(p, kind).is_some() {
            Some(p)
        } else {
            self.first_server(0, kind)
        }
    }

    /// The server after `server` in configuration order (wrapping), for a request
    /// first sent to `origin`; None once the round is complete.
    fn next_server(&self, server: usize, origin: usize, kind: Kind) -> Option<usize> {
        let n = self.cfg.servers.len();
        (1..n)
            .map(|i| (server + i) % n)
            .take_while(|&s| s != origin)
            .find(|&s| self.port(s, kind).is_some())
    }

    fn random16(&mut self) -> [u8; 16] {
        self.rng_counter += 1;
        let mut h = Md5::new();
        h.update(self.rng_seed);
        h.update(self.rng_counter.to_be_bytes());
        h.finalize().into()
    }

    /// A free identifier, cycling so a freed one is not reused at once.
    fn free_id(&mut self) -> Option<u8> {
        for _ in 0..256 {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if !self.inflight.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }

    fn start(&mut self, now: Instant, id: u8, f: InFlight, kind: Kind) {
        self.out.push_back(ClientOutput::Transmit {
            to: f.to,
            bytes: f.bytes.clone(),
        });
        self.notice(Notice::Sent {
            server: self.cfg.servers[f.server].name.clone(),
            kind,
            retransmission: false,
        });
        let f = InFlight {
            deadline: now + self.cfg.timeout,
            ..f
        };
        self.inflight.insert(id, f);
    }

    fn send_auth(
        &mut self,
        now: Instant,
        server: usize,
        origin: usize,
        call: u64,
        query: AuthQuery,
    ) -> bool {
        let Some(to) = self.port(server, Kind::Auth) else {
            return false;
        };
        let Some(id) = self.free_id() else {
            return false;
        };
        let request_auth = self.random16();
        let password = self
            .cfg
            .password
            .clone()
            .unwrap_or_else(|| query.calling.clone());
        let p = Packet {
            code: Code::ACCESS_REQUEST,
            identifier: id,
            authenticator: request_auth,
            attrs: access_attrs(&self.cfg.nas, &query),
        };
        let secret = self.cfg.servers[server].secret.clone();
        let pw = if password.is_empty() { " " } else { &password };
        let bytes = encode_access_request(&p, Some(pw.as_bytes()), &secret);
        let f = InFlight {
            what: What::Auth { call, query },
            server,
            origin,
            to,
            bytes,
            request_auth,
            transmissions: 1,
            deadline: now,
        };
        self.start(now, id, f, Kind::Auth);
        true
    }

    fn next_waiting_auth(&mut self, now: Instant) {
        while let Some((call, q)) = self.auth_waiting.pop_front() {
            let Some(s) = self.start_server(Kind::Auth) else {
                self.out.push_back(ClientOutput::Auth {
                    call,
                    answer: AuthAnswer::Unavailable,
                });
                continue;
            };
            if !self.send_auth(now, s, s, call, q.clone()) {
                self.auth_waiting.push_front((call, q));
                return;
            }
        }
    }

    fn account(&mut self, now: Instant, wall: SystemTime, r: &CallRecord, status: AcctStatus) {
        if self.first_server(0, Kind::Acct).is_none() {
            // Authentication only: nothing would ever take the record.
            return;
        }
        let mut r = r.clone();
        r.end = wall;
        let key = self.next_key;
        self.next_key += 1;
        let rec = SpoolRecord {
            key,
            event_secs: unix(wall),
            attrs: accounting_attrs(&self.cfg.nas, &r, status),
        };
        self.out.push_back(ClientOutput::SpoolWrite(rec.clone()));
        self.spool.insert(key, rec);
        self.pump_acct(now, wall);
    }

    fn interim(&mut self, now: Instant, wall: SystemTime, call: u64) {
        let Some(s) = self.sessions.get_mut(&call) else {
            return;
        };
        if let Some(at) = s.next_interim.take() {
            self.interims.remove(&(at, call));
        }
        let next = self.cfg.interim.map(|i| now + i);
        s.next_interim = next;
        let record = s.record.clone();
        if let Some(at) = next {
            self.interims.insert((at, call));
        }
        self.account(now, wall, &record, AcctStatus::INTERIM_UPDATE);
    }

    /// Sends spooled records (oldest first) while the window has room and no outage
    /// holds the spool back.
    fn pump_acct(&mut self, now: Instant, wall: SystemTime) {
        if self.spool_retry.is_some() {
            return;
        }
        let Some(server) = self.start_server(Kind::Acct) else {
            return;
        };
        while self.sending.len() < ACCT_WINDOW {
            let Some(key) = self
                .spool
                .keys()
                .find(|k| !self.sending.contains(k))
                .copied()
            else {
                return;
            };
            if !self.send_acct(now, wall, server, server, key) {
                return;
            }
        }
    }

    fn send_acct(
        &mut self,
        now: Instant,
        wall: SystemTime,
        server: usize,
        origin: usize,
        key: u64,
    ) -> bool {
        let Some(to) = self.port(server, Kind::Acct) else {
            return false;
        };
        let Some(rec) = self.spool.get(&key) else {
            return false;
        };
        let mut attrs = rec.attrs.clone();
        let delay = unix(wall).saturating_sub(rec.event_secs);
        attrs.push(Attr::int(
            AttrType::ACCT_DELAY_TIME,
            u32::try_from(delay).unwrap_or(u32::MAX),
        ));
        let Some(id) = self.free_id() else {
            return false;
        };
        let p = Packet {
            code: Code::ACCOUNTING_REQUEST,
            identifier: id,
            authenticator: [0; 16],
            attrs,
        };
        let bytes = encode_accounting_request(&p, &self.cfg.servers[server].secret);
        let mut request_auth = [0u8; 16];
        request_auth.copy_from_slice(&bytes[4..20]);
        self.sending.insert(key);
        let f = InFlight {
            what: What::Acct { key },
            server,
            origin,
            to,
            bytes,
            request_auth,
            transmissions: 1,
            deadline: now,
        };
        self.start(now, id, f, Kind::Acct);
        true
    }

    fn retransmit(&mut self, now: Instant, wall: SystemTime, id: u8) {
        let Some(f) = self.inflight.get_mut(&id) else {
            return;
        };
        if f.transmissions <= self.cfg.retries {
            let factor = 2u32.saturating_pow(f.transmissions).min(MAX_BACKOFF);
            f.transmissions += 1;
            f.deadline = now + self.cfg.timeout * factor;
            let (to, bytes, server) = (f.to, f.bytes.clone(), f.server);
            let kind = match f.what {
                What::Auth { .. } => Kind::Auth,
                What::Acct { .. } => Kind::Acct,
            };
            self.out.push_back(ClientOutput::Transmit { to, bytes });
            self.notice(Notice::Sent {
                server: self.cfg.servers[server].name.clone(),
                kind,
                retransmission: true,
            });
            return;
        }
        let Some(f) = self.inflight.remove(&id) else {
            return;
        };
        let kind = match f.what {
            What::Auth { .. } => Kind::Auth,
            What::Acct { .. } => Kind::Acct,
        };
        self.notice(Notice::Timeout {
            server: self.cfg.servers[f.server].name.clone(),
            kind,
        });
        let next = self.next_server(f.server, f.origin, kind);
        match (f.what, next) {
            (What::Auth { call, query }, Some(s)) => {
                if !self.send_auth(now, s, f.origin, call, query.clone()) {
                    self.auth_waiting.push_back((call, query));
                }
            }
            (What::Auth { call, .. }, None) => {
                self.preferred[0] = self.first_server(0, Kind::Auth).unwrap_or(0);
                self.out.push_back(ClientOutput::Auth {
                    call,
                    answer: AuthAnswer::Unavailable,
                });
                self.next_waiting_auth(now);
            }
            (What::Acct { key }, Some(s)) => {
                self.sending.remove(&key);
                if !self.send_acct(now, wall, s, f.origin, key) {
                    self.pump_acct(now, wall);
                }
            }
            (What::Acct { key }, None) => {
                // Every server failed: the record stays spooled; everything waits,
                // then starts again at the first server.
                self.sending.remove(&key);
                self.preferred[1] = self.first_server(0, Kind::Acct).unwrap_or(0);
                self.spool_retry = Some(now + self.cfg.retry_interval);
            }
        }
    }
}

/// The credit an Access-Accept grants: Session-Timeout (RFC 2865 §5.27) or Cisco's
/// h323-credit-time, whichever is shorter.
fn credit(p: &Packet) -> Option<Duration> {
    let st = p.get_int(AttrType::SESSION_TIMEOUT);
    let ct = p
        .get_cisco(CiscoAttr::H323_CREDIT_TIME)
        .and_then(|v| v.trim().parse::<u32>().ok());
    [st, ct]
        .into_iter()
        .flatten()
        .min()
        .map(|s| Duration::from_secs(u64::from(s)))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
