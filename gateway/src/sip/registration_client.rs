//! Registration with a carrier (UAC side of RFC 3261 §10.2): one binding per SIP trunk
//! that has `register:`, kept alive by refreshes, answered challenges (RFC 7616) and
//! retries, and removed (`Expires: 0`) when the trunk goes away or the gateway drains.
//!
//! Sans-IO like the rest of the stack: requests leave through the `send` function the
//! caller passes to [`RegistrationClient::handle_timeout`] (in the gateway,
//! `Endpoint::send_request`), responses and transaction failures come back through
//! [`RegistrationClient::on_response`] / [`RegistrationClient::on_failure`], and time is
//! whatever `now` the caller gives.
//!
//! ```text
//!   Unregistered --REGISTER--> Registering --200--> Registered{until} --refresh 200--> …
//!                                 |  401/407: answer (same Call-ID, CSeq+1)
//!                                 |  423: again with Min-Expires
//!                                 '--403/5xx/timeout--> Failed --backoff--> Registering
//! ```
//!
//! Choices the RFC leaves to the UA:
//! - **Refresh moment.** §10.2.4 only asks for a refresh before the binding expires. We
//!   refresh at the later of half the granted interval and [`REFRESH_MARGIN`] (10 min)
//!   before expiry: a short grant is refreshed at half-time like most phones do, a long
//!   one early enough that the first four backoff retries (30 + 60 + 120 + 240 s) still
//!   fall before the registrar drops the binding.
//! - **Failures** (timeouts, 403, 4xx-6xx, refused credentials) retry after 30 s,
//!   doubling to 10 min ([`RETRY_MIN`], [`RETRY_MAX`]); a Retry-After (§20.33) longer
//!   than that is honoured.
//! - **Credentials.** A challenge is answered with the trunk's `auth` (qop=auth when
//!   offered, a fresh cnonce per request, nc counting uses of the nonce, RFC 7616 §3.4)
//!   and kept for the refreshes (§22.3 lets a UAC reuse credentials for the realm). A
//!   second challenge with the nonce just answered is a refusal unless `stale=true`;
//!   at most [`MAX_CHALLENGES`] fresh challenges are answered per attempt, so a
//!   registrar that issues a new nonce after every wrong answer does not loop us.
//! - **Call-ID and CSeq.** One Call-ID per binding for its whole life, CSeq increasing
//!   by one per request (§10.2.4, §8.1.3.5).

use crate::config::{Config, SipTransport, TrunkParams};
use crate::sip::digest::{self, Challenge};
use crate::sip::endpoint::{ClientTxId, IdGenerator, Peer, Transport};
use crate::sip::message::{AuthValue, CSeq, Contact, Host, Method, Request, Response, Uri};
use crate::sip::transaction::Timer;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// First retry delay after a failure.
pub const RETRY_MIN: Duration = Duration::from_secs(30);
/// Longest retry delay (the doubling stops here).
pub const RETRY_MAX: Duration = Duration::from_secs(600);
/// A long registration is refreshed this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(600);
/// Retry after a first transport error (no socket yet, connection refused).
pub const TRANSPORT_RETRY: Duration = Duration::from_secs(2);
/// Fresh (not stale) challenges answered in one attempt.
pub const MAX_CHALLENGES: u8 = 2;
/// `stale=true` challenges answered in one attempt.
const MAX_STALE: u8 = 3;

/// The digest credentials of a trunk (`auth:`).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Digest user name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Answer only challenges of this realm.
    pub realm: Option<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("realm", &self.realm)
            .finish()
    }
}

/// One trunk's registration settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// The trunk.
    pub trunk: String,
    /// Where REGISTER goes; `None` when the registrar is not an IP literal (host names
    /// are not resolved yet): the trunk then stays `Failed`.
    pub registrar: Option<SocketAddr>,
    /// The registrar's host as configured: the domain of the Request-URI and of the
    /// address of record (`sip:<user>@<host>`).
    pub domain: String,
    /// Transport toward the registrar.
    pub transport: Transport,
    /// User part of the address of record.
    pub user: String,
    /// Requested lifetime in seconds.
    pub expiry: u32,
    /// Credentials for challenges.
    pub auth: Option<AuthConfig>,
    /// Our address for the Contact.
    pub contact: SocketAddr,
}

impl RegistrationConfig {
    /// The settings of every SIP trunk of `cfg` with `register:`; `contact` gives our
    /// address for a transport.
    pub fn from_config(
        cfg: &Config,
        contact: impl Fn(Transport) -> SocketAddr,
    ) -> Vec<RegistrationConfig> {
        cfg.trunks
            .iter()
            .filter_map(|t| {
                let TrunkParams::Sip(s) = &t.params else {
                    return None;
                };
                let r = s.register.as_ref()?;
                let transport = match s.transport {
                    SipTransport::Udp => Transport::Udp,
                    SipTransport::Tcp => Transport::Tcp,
                    SipTransport::Tls => Transport::Tls,
                };
                // The registrar, else the first remote (§10.2: the domain's registrar).
                let hp = r.registrar.as_ref().or(s.remote.first())?;
                Some(RegistrationConfig {
                    trunk: t.name.clone(),
                    registrar: cfg.hosts.first(hp),
                    domain: hp.host.clone(),
                    transport,
                    user: r.user.clone(),
                    expiry: r.expiry_seconds,
                    auth: s.auth.as_ref().map(|a| AuthConfig {
                        user: a.user.clone(),
                        password: a.password.expose().to_owned(),
                        realm: a.realm.clone(),
                    }),
                    contact: contact(transport),
                })
            })
            .collect()
    }

    /// What makes a binding: a change here means un-registering the old one.
    fn identity(&self) -> (&Option<SocketAddr>, &str, Transport, &str, SocketAddr) {
        (
            &self.registrar,
            &self.domain,
            self.transport,
            &self.user,
            self.contact,
        )
    }

    fn host(&self) -> String {
        if self.domain.contains(':') {
            format!("[{}]", self.domain)
        } else {
            self.domain.clone()
        }
    }

    fn transport_param(&self) -> &'static str {
        match self.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        }
    }

    /// The Request-URI: the registrar's domain, no user part (§10.2).
    fn request_uri(&self) -> String {
        let port = self.registrar.map_or(5060, |r| r.port());
        let default = if self.transport == Transport::Tls {
            5061
        } else {
            5060
        };
        let port = if port == default {
            String::new()
        } else {
            format!(":{port}")
        };
        format!("sip:{}{port}{}", self.host(), self.transport_param())
    }

    fn aor(&self) -> String {
        format!("<sip:{}@{}>", self.user, self.host())
    }

    fn contact_value(&self) -> String {
        format!(
            "<sip:{}@{}{}>",
            self.user,
            self.contact,
            self.transport_param()
        )
    }
}

/// A trunk's registration state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not registered and not trying (un-registered, or not started yet).
    Unregistered,
    /// The first REGISTER (or a retry after a failure) is under way.
    Registering,
    /// Registered until `until`; a refresh keeps this state while it runs.
    Registered {
        /// When the registrar drops the binding unless refreshed.
        until: Instant,
    },
    /// The last attempt failed; a retry is scheduled. A failed refresh lands here too,
    /// although the registrar may keep the old binding until it expires.
    Failed,
}

impl RegistrationState {
    /// True in [`RegistrationState::Registered`].
    pub fn is_registered(self) -> bool {
        matches!(self, RegistrationState::Registered { .. })
    }
}

/// What the client reports, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationEvent {
    /// The trunk's registered flag, when a trunk is added and whenever it changes.
    State {
        /// The trunk.
        trunk: String,
        /// Registered or not.
        registered: bool,
    },
    /// An attempt failed.
    Failed {
        /// The trunk.
        trunk: String,
        /// Status line or `timeout`.
        reason: String,
        /// When it is tried again (`None`: not retried).
        retry_in: Option<Duration>,
    },
}

/// What a binding is heading for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Register,
    Unregister,
}

/// Credentials kept for one challenge header.
#[derive(Debug, Clone)]
struct Cached {
    /// 401 (`Authorization`) or 407 (`Proxy-Authorization`).
    proxy: bool,
    challenge: Challenge,
    /// Uses of this nonce so far.
    nc: u32,
}

/// Counters of one attempt (a refresh, a retry, an un-register), reset between them.
#[derive(Debug, Clone, Default)]
struct Attempt {
    challenges: u8,
    stale: u8,
    /// The nonces the request in flight answers.
    answered: Vec<String>,
}

#[derive(Debug)]
struct Binding {
    cfg: RegistrationConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// Requested lifetime (the configured one, raised by a 423).
    expires: u32,
    state: RegistrationState,
    goal: Goal,
    /// The REGISTER in flight and the Expires it asked for.
    tx: Option<(ClientTxId, u32)>,
    /// When the next REGISTER is due (only while none is in flight).
    next: Option<Instant>,
    /// Until when the registrar holds a binding of ours (as far as we know).
    bound_until: Option<Instant>,
    auth: Vec<Cached>,
    attempt: Attempt,
    failures: u32,
}

impl Binding {
    fn new(cfg: RegistrationConfig, ids: &mut IdGenerator, now: Instant, goal: Goal) -> Binding {
        let runnable = cfg.registrar.is_some() && goal == Goal::Register;
        Binding {
            expires: cfg.expiry,
            call_id: ids.call_id(),
            from_tag: ids.tag(),
            cseq: 0,
            state: if cfg.registrar.is_some() {
                RegistrationState::Unregistered
            } else {
                RegistrationState::Failed
            },
            goal,
            tx: None,
            next: runnable.then_some(now),
            bound_until: None,
            auth: Vec::new(),
            attempt: Attempt::default(),
            failures: 0,
            cfg,
        }
    }

    /// True when the registrar may hold a binding of ours at `now`.
    fn maybe_bound(&self, now: Instant) -> bool {
        self.tx.is_some() || self.bound_until.is_some_and(|u| u > now)
    }

    fn request(&mut self, ids: &mut IdGenerator) -> Request {
        let expires = match self.goal {
            Goal::Register => self.expires,
            Goal::Unregister => 0,
        };
        self.cseq += 1;
        let uri_text = self.cfg.request_uri();
        // Built from our own validated parts; a failure would be a bug caught by tests.
        let uri = Uri::parse(&uri_text).unwrap_or(Uri::Other(uri_text.clone()));
        let mut r = Request::new(Method::Register, uri)
            .with_header("Max-Forwards", "70")
            .with_header("From", &format!("{};tag={}", self.cfg.aor(), self.from_tag))
            .with_header("To", &self.cfg.aor())
            .with_header("Call-ID", &self.call_id)
            .with_header(
                "CSeq",
                &CSeq {
                    seq: self.cseq,
                    method: Method::Register,
                }
                .to_string(),
            )
            .with_header("Contact", &self.cfg.contact_value())
            .with_header("Expires", &expires.to_string());
        self.attempt.answered.clear();
        if let Some(auth) = &self.cfg.auth {
            for c in &mut self.auth {
                c.nc += 1;
                let cnonce = ids.token(16);
                let creds = digest::answer(
                    &c.challenge,
                    &auth.user,
                    &auth.password,
                    "REGISTER",
                    &uri_text,
                    &cnonce,
                    c.nc,
                );
                let name = if c.proxy {
                    "Proxy-Authorization"
                } else {
                    "Authorization"
                };
                r.headers.push(name, &creds.to_header_value());
                self.attempt.answered.push(c.challenge.nonce.clone());
            }
        }
        self.tx = None;
        self.next = None;
        r
    }

    fn peer(&self) -> Option<Peer> {
        self.cfg.registrar.map(|addr| Peer {
            transport: self.cfg.transport,
            addr,
            connection: None,
        })
    }

    /// Takes the challenge of a 401/407: `Err` says why it is not answered.
    fn take_challenge(&mut self, resp: &Response) -> Result<(), String> {
        let Some(auth) = &self.cfg.auth else {
            return Err(format!("{} without `auth` credentials", status_line(resp)));
        };
        let proxy = resp.status.0 == 407;
        let header = if proxy {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let Some(challenge) = resp
            .headers
            .get_all(header)
            .filter_map(parse_challenge)
            .find(|c| auth.realm.as_ref().is_none_or(|r| *r == c.realm))
        else {
            return Err(format!("{} with no usable challenge", status_line(resp)));
        };
        if challenge.stale {
            self.attempt.stale += 1;
            if self.attempt.stale > MAX_STALE {
                return Err(format!("{} stale again", status_line(resp)));
            }
        } else if self.attempt.answered.contains(&challenge.nonce) {
            return Err(format!("{}: credentials refused", status_line(resp)));
        } else {
            self.attempt.challenges += 1;
            if self.attempt.challenges > MAX_CHALLENGES {
                return Err(format!("{}: credentials refused", status_line(resp)));
            }
        }
        // One cached answer per header kind and realm: the new challenge replaces it.
        self.auth
            .retain(|c| !(c.proxy == proxy && c.challenge.realm == challenge.realm));
        self.auth.push(Cached {
            proxy,
            challenge,
            nc: 0,
        });
        Ok(())
    }

    /// The lifetime the registrar granted: our Contact's `expires`, else the Expires
    /// header, else what we asked (§10.2.4, §10.3 step 8).
    fn granted(&self, resp: &Response, asked: u32) -> u32 {
        let ours = resp.headers.contacts().ok().and_then(|cs| {
            cs.into_iter().find_map(|c| match c {
                Contact::Addr(a)
                    if a.uri.as_sip().is_some_and(|u| {
                        u.user_unescaped().as_deref() == Some(self.cfg.user.as_str())
                            && host_ip(&u.host) == Some(self.cfg.contact.ip())
                            && u.port.unwrap_or(5060) == self.cfg.contact.port()
                    }) =>
                {
                    a.expires()
                }
                _ => None,
            })
        });
        ours.or_else(|| resp.headers.expires().ok().flatten())
            .unwrap_or(asked)
    }
}

fn host_ip(h: &Host) -> Option<IpAddr> {
    match h {
        Host::Ipv4(a) => Some(IpAddr::V4(*a)),
        Host::Ipv6(s) | Host::Name(s) => s.parse().ok(),
    }
}

fn status_line(resp: &Response) -> String {
    format!("{} {}", resp.status.0, resp.reason)
}

/// A digest challenge from one WWW-/Proxy-Authenticate value.
fn parse_challenge(value: &str) -> Option<Challenge> {
    let v = AuthValue::parse(value).ok()?;
    if !v.is_digest() {
        return None;
    }
    let params: Vec<(String, String)> = v
        .params
        .iter()
        .map(|(n, raw)| (n.clone(), crate::sip::message::unquote(raw).into_owned()))
        .collect();
    Challenge::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// When to refresh a registration granted for `granted` seconds: the later of half
/// of it and [`REFRESH_MARGIN`] before it ends, at least one second on.
pub fn refresh_after(granted: u32) -> Duration {
    let g = Duration::from_secs(u64::from(granted));
    (g / 2)
        .max(g.saturating_sub(REFRESH_MARGIN))
        .max(Duration::from_secs(1))
}

/// The delay before retry number `failures + 1`: 30 s doubling to 10 min.
pub fn backoff(failures: u32) -> Duration {
    RETRY_MIN
        .saturating_mul(1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX))
        .min(RETRY_MAX)
}

/// The registrations of every trunk with `register:`.
pub struct RegistrationClient {
    bindings: BTreeMap<String, Binding>,
    /// Bindings of removed or changed trunks, being un-registered.
    leaving: Vec<Binding>,
    /// Transactions we no longer wait for (a REGISTER overtaken by an un-REGISTER).
    abandoned: HashSet<ClientTxId>,
    ids: IdGenerator,
    events: VecDeque<RegistrationEvent>,
    /// False while draining: bindings are removed and not renewed.
    active: bool,
}

impl RegistrationClient {
    /// A client for `configs`; the first REGISTERs are due at `now`.
    pub fn new(now: Instant, seed: u64, configs: Vec<RegistrationConfig>) -> RegistrationClient {
        let mut c = RegistrationClient {
            bindings: BTreeMap::new(),
            leaving: Vec::new(),
            abandoned: HashSet::new(),
            ids: IdGenerator::new(seed),
            events: VecDeque::new(),
            active: true,
        };
        for cfg in configs {
            c.add(now, cfg);
        }
        c
    }

    fn add(&mut self, now: Instant, cfg: RegistrationConfig) {
        let goal = if self.active {
            Goal::Register
        } else {
            Goal::Unregister
        };
        let b = Binding::new(cfg, &mut self.ids, now, goal);
        self.events.push_back(RegistrationEvent::State {
            trunk: b.cfg.trunk.clone(),
            registered: false,
        });
        if b.cfg.registrar.is_none() {
            self.events.push_back(RegistrationEvent::Failed {
                trunk: b.cfg.trunk.clone(),
                reason: format!("registrar `{}` is not an IP address", b.cfg.domain),
                retry_in: None,
            });
        }
        self.bindings.insert(b.cfg.trunk.clone(), b);
    }

    /// Applies a new configuration: new trunks register, removed ones (and ones whose
    /// registrar, user, transport or contact changed) are un-registered, a changed
    /// expiry or password takes effect at once. What this starts is due at `now`.
    pub fn reconfigure(&mut self, now: Instant, configs: Vec<RegistrationConfig>) {
        let mut old = std::mem::take(&mut self.bindings);
        for cfg in configs {
            match old.remove(&cfg.trunk) {
                Some(mut b) if b.cfg.identity() == cfg.identity() => {
                    let retry = b.cfg.expiry != cfg.expiry
                        || (b.cfg.auth != cfg.auth && b.state == RegistrationState::Failed);
                    if b.cfg.auth != cfg.auth {
                        b.auth.clear();
                    }
                    if b.cfg.expiry != cfg.expiry {
                        b.expires = cfg.expiry;
                    }
                    b.cfg = cfg;
                    if retry && b.goal == Goal::Register && b.tx.is_none() {
                        b.failures = 0;
                        b.attempt = Attempt::default();
                        b.next = Some(now);
                    }
                    self.bindings.insert(b.cfg.trunk.clone(), b);
                }
                Some(b) => {
                    self.leave(now, b);
                    self.add(now, cfg);
                }
                None => self.add(now, cfg),
            }
        }
        for (_, b) in old {
            // The trunk no longer registers: its gauge goes to 0 (or away with the trunk).
            if b.state.is_registered() {
                self.events.push_back(RegistrationEvent::State {
                    trunk: b.cfg.trunk.clone(),
                    registered: false,
                });
            }
            self.leave(now, b);
        }
    }

    /// Un-registers `b` if the registrar may hold it, else forgets it.
    fn leave(&mut self, now: Instant, mut b: Binding) {
        if b.maybe_bound(now) && b.cfg.registrar.is_some() {
            self.start_unregister(now, &mut b);
            self.leaving.push(b);
        } else if let Some((tx, _)) = b.tx {
            self.abandoned.insert(tx);
        }
    }

    fn start_unregister(&mut self, now: Instant, b: &mut Binding) {
        if let Some((tx, _)) = b.tx.take() {
            self.abandoned.insert(tx);
        }
        b.goal = Goal::Unregister;
        b.attempt = Attempt::default();
        b.next = Some(now);
    }

    /// Draining (`false`): every binding is removed (`Expires: 0`) and not renewed;
    /// `true` registers them again. What this starts is due at `now`.
    pub fn set_active(&mut self, now: Instant, active: bool) {
        if self.active == active {
            return;
        }
        self.active = active;
        let names: Vec<String> = self.bindings.keys().cloned().collect();
        for name in names {
            let Some(mut b) = self.bindings.remove(&name) else {
                continue;
            };
            if b.cfg.registrar.is_some() {
                if active {
                    if let Some((tx, _)) = b.tx.take() {
                        self.abandoned.insert(tx);
                    }
                    b.goal = Goal::Register;
                    b.failures = 0;
                    b.attempt = Attempt::default();
                    b.next = Some(now);
                } else if b.maybe_bound(now) {
                    self.start_unregister(now, &mut b);
                } else {
                    b.goal = Goal::Unregister;
                    b.next = None;
                    self.set_state(&mut b, RegistrationState::Unregistered);
                }
            }
            self.bindings.insert(name, b);
        }
    }

    /// Removes every binding (shutdown).
    pub fn unregister_all(&mut self, now: Instant) {
        self.set_active(now, false);
    }

    fn set_state(&mut self, b: &mut Binding, state: RegistrationState) {
        let was = b.state.is_registered();
        b.state = state;
        if was != state.is_registered() {
            self.events.push_back(RegistrationEvent::State {
                trunk: b.cfg.trunk.clone(),
                registered: state.is_registered(),
            });
        }
    }

    /// The earliest moment a REGISTER is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bindings
            .values()
            .chain(&self.leaving)
            .filter(|b| b.tx.is_none())
            .filter_map(|b| b.next)
            .min()
    }

    /// Sends every REGISTER due at `now` through `send`, which returns its transaction.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        mut send: impl FnMut(Request, Peer) -> ClientTxId,
    ) {
        let ids = &mut self.ids;
        for b in self.bindings.values_mut().chain(self.leaving.iter_mut()) {
            if b.tx.is_some() || b.next.is_none_or(|t| t > now) {
                continue;
            }
            let Some(peer) = b.peer() else {
                b.next = None;
                continue;
            };
            let req = b.request(ids);
            let asked = if b.goal == Goal::Register {
                b.expires
            } else {
                0
            };
            b.tx = Some((send(req, peer), asked));
            if b.goal == Goal::Register && !b.state.is_registered() {
                // A refresh keeps `Registered`; a first try or a retry is `Registering`.
                b.state = RegistrationState::Registering;
            }
        }
    }

    /// Finds the binding of `tx`: `Some(Ok(trunk))` active, `Some(Err(index))` leaving.
    fn find(&self, tx: ClientTxId) -> Option<Result<String, usize>> {
        if let Some((name, _)) = self
            .bindings
            .iter()
            .find(|(_, b)| b.tx.is_some_and(|(t, _)| t == tx))
        {
            return Some(Ok(name.clone()));
        }
        self.leaving
            .iter()
            .position(|b| b.tx.is_some_and(|(t, _)| t == tx))
            .map(Err)
    }

    /// A response to one of our REGISTERs; false when `tx` is not ours.
    pub fn on_response(&mut self, now: Instant, tx: ClientTxId, resp: &Response) -> bool {
        let Some(which) = self.find(tx) else {
            if self.abandoned.contains(&tx) {
                if resp.status.is_final() {
                    self.abandoned.remove(&tx);
                }
                return true;
            }
            return false;
        };
        if !resp.status.is_final() {
            return true;
        }
        match which {
            Ok(name) => {
                if let Some(mut b) = self.bindings.remove(&name) {
                    self.final_response(now, &mut b, resp, false);
                    self.bindings.insert(name, b);
                }
            }
            Err(i) => {
                let mut b = self.leaving.swap_remove(i);
                if !self.final_response(now, &mut b, resp, true) {
                    self.leaving.push(b);
                }
            }
        }
        true
    }

    /// A REGISTER of ours timed out (`timer` F) or could not be sent (`None`: transport
    /// error); false when `tx` is not ours.
    pub fn on_failure(&mut self, now: Instant, tx: ClientTxId, timer: Option<Timer>) -> bool {
        let Some(which) = self.find(tx) else {
            return self.abandoned.remove(&tx);
        };
        match which {
            Ok(name) => {
                if let Some(mut b) = self.bindings.remove(&name) {
                    b.tx = None;
                    if timer.is_none() && b.failures == 0 {
                        // A socket not up yet or a connection refused once: soon again.
                        b.failures = 1;
                        b.attempt = Attempt::default();
                        b.next = Some(now + TRANSPORT_RETRY);
                        self.set_state(&mut b, RegistrationState::Failed);
                        self.events.push_back(RegistrationEvent::Failed {
                            trunk: b.cfg.trunk.clone(),
                            reason: "transport error".to_owned(),
                            retry_in: Some(TRANSPORT_RETRY),
                        });
                    } else {
                        let reason = match timer {
                            Some(t) => format!("timeout (Timer {t:?})"),
                            None => "transport error".to_owned(),
                        };
                        self.fail(now, &mut b, reason, None);
                    }
                    self.bindings.insert(name, b);
                }
            }
            Err(i) => {
                // An un-REGISTER that goes unanswered: nothing more to do.
                self.leaving.swap_remove(i);
            }
        }
        true
    }

    /// Handles a final response; returns true when a leaving binding is done.
    fn final_response(
        &mut self,
        now: Instant,
        b: &mut Binding,
        resp: &Response,
        leaving: bool,
    ) -> bool {
        let Some((_, asked)) = b.tx.take() else {
            return leaving;
        };
        let status = resp.status.0;
        if resp.status.is_success() {
            b.attempt = Attempt::default();
            if asked == 0 {
                b.bound_until = None;
                b.next = None;
                if !leaving {
                    self.set_state(b, RegistrationState::Unregistered);
                }
                return true;
            }
            let granted = b.granted(resp, asked);
            if granted == 0 {
                self.fail(
                    now,
                    b,
                    format!("{}: no lifetime granted", status_line(resp)),
                    None,
                );
                return false;
            }
            let until = now + Duration::from_secs(u64::from(granted));
            b.bound_until = Some(until);
            b.failures = 0;
            b.next = Some(now + refresh_after(granted));
            self.set_state(b, RegistrationState::Registered { until });
            return false;
        }
        let retry_now = match status {
            401 | 407 => match b.take_challenge(resp) {
                Ok(()) => Ok(()),
                Err(reason) => Err(reason),
            },
            // §10.2.8: again with at least Min-Expires.
            423 => match resp.headers.min_expires().ok().flatten() {
                Some(min) if asked > 0 && min > asked => {
                    b.expires = min;
                    Ok(())
                }
                _ => Err(status_line(resp)),
            },
            _ => Err(status_line(resp)),
        };
        match retry_now {
            Ok(()) => {
                b.next = Some(now);
                false
            }
            Err(_) if leaving || b.goal == Goal::Unregister => {
                // A refused un-REGISTER is not retried; the binding lapses by itself.
                b.next = None;
                if !leaving {
                    self.set_state(b, RegistrationState::Unregistered);
                }
                true
            }
            Err(reason) => {
                let retry_after = resp
                    .headers
                    .retry_after()
                    .ok()
                    .flatten()
                    .map(|r| Duration::from_secs(u64::from(r.seconds)));
                self.fail(now, b, reason, retry_after);
                false
            }
        }
    }

    fn fail(
        &mut self,
        now: Instant,
        b: &mut Binding,
        reason: String,
        retry_after: Option<Duration>,
    ) {
        b.attempt = Attempt::default();
        if b.goal == Goal::Unregister {
            b.next = None;
            self.set_state(b, RegistrationState::Unregistered);
            return;
        }
        let delay = backoff(b.failures).max(retry_after.unwrap_or_default());
        b.failures = b.failures.saturating_add(1);
        b.next = Some(now + delay);
        self.set_state(b, RegistrationState::Failed);
        self.events.push_back(RegistrationEvent::Failed {
            trunk: b.cfg.trunk.clone(),
            reason,
            retry_in: Some(delay),
        });
    }

    /// Each trunk's state.
    pub fn states(&self) -> impl Iterator<Item = (&str, RegistrationState)> + '_ {
        self.bindings
            .iter()
            .map(|(name, b)| (name.as_str(), b.state))
    }

    /// The state of `trunk`, when it registers.
    pub fn state(&self, trunk: &str) -> Option<RegistrationState> {
        self.bindings.get(trunk).map(|b| b.state)
    }

    /// The next event for logs and metrics.
    pub fn poll_event(&mut self) -> Option<RegistrationEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::digest::Credentials;
    use crate::sip::message::SipMessage;

    const REGISTRAR: &str = "192.0.2.10:5060";

    fn cfg(name: &str) -> RegistrationConfig {
        RegistrationConfig {
            trunk: name.to_owned(),
            registrar: Some(REGISTRAR.parse().unwrap()),
            domain: "192.0.2.10".to_owned(),
            transport: Transport::Udp,
            user: "4930123".to_owned(),
            expiry: 3600,
            auth: Some(AuthConfig {
                user: "acct".to_owned(),
                password: "pw".to_owned(),
                realm: None,
            }),
            contact: "198.51.100.1:5060".parse().unwrap(),
        }
    }

    /// A client and the requests it sent, on simulated time.
    struct Harness {
        c: RegistrationClient,
        t0: Instant,
        sent: Vec<(ClientTxId, Request, Peer)>,
        next_tx: u64,
    }

    impl Harness {
        fn new(configs: Vec<RegistrationConfig>) -> Harness {
            let t0 = Instant::now();
            Harness {
                c: RegistrationClient::new(t0, 7, configs),
                t0,
                sent: Vec::new(),
                next_tx: 1,
            }
        }

        fn at(&self, secs: u64) -> Instant {
            self.t0 + Duration::from_secs(secs)
        }

        /// Fires due timers at `now`; returns the requests sent.
        fn tick(&mut self, now: Instant) -> Vec<(ClientTxId, Request)> {
            let mut out = Vec::new();
            let next = &mut self.next_tx;
            self.c.handle_timeout(now, |r, p| {
                let tx = ClientTxId(*next);
                *next += 1;
                out.push((tx, r, p));
                tx
            });
            let v = out.iter().map(|(t, r, _)| (*t, r.clone())).collect();
            self.sent.extend(out);
            v
        }

        /// Runs the timers up to `until` (inclusive); returns what was sent, with when.
        fn run_until(&mut self, until: Instant) -> Vec<(Instant, ClientTxId, Request)> {
            let mut v = Vec::new();
            while let Some(t) = self.c.poll_timeout() {
                if t > until {
                    break;
                }
                for (tx, r) in self.tick(t) {
                    v.push((t, tx, r));
                }
            }
            v
        }

        fn events(&mut self) -> Vec<RegistrationEvent> {
            std::iter::from_fn(|| self.c.poll_event()).collect()
        }
    }

    fn reply(req: &Request, status: u16, extra: &[(&str, &str)]) -> Response {
        let mut r = Response::for_request(req, status, "").with_to_tag("reg");
        for (n, v) in extra {
            r.headers.push(n, v);
        }
        // Through the wire format, as the endpoint would deliver it.
        match SipMessage::parse(&SipMessage::from(r).to_bytes()).unwrap() {
            SipMessage::Response(r) => r,
            SipMessage::Request(_) => unreachable!(),
        }
    }

    fn challenge(nonce: &str, stale: bool) -> String {
        Challenge {
            realm: "carrier.example".to_owned(),
            nonce: nonce.to_owned(),
            opaque: Some("op".to_owned()),
            algorithm: digest::Algorithm::Md5,
            qop: vec!["auth".to_owned()],
            stale,
        }
        .to_header_value()
    }

    fn creds(req: &Request, header: &str) -> Credentials {
        let v = AuthValue::parse(req.headers.get(header).expect("credentials")).unwrap();
        let params: Vec<(String, String)> = v
            .params
            .iter()
            .map(|(n, raw)| (n.clone(), crate::sip::message::unquote(raw).into_owned()))
            .collect();
        Credentials::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap()
    }

    fn cseq(req: &Request) -> u32 {
        req.headers.cseq().unwrap().unwrap().seq
    }

    #[test]
    fn first_register_has_the_rfc_3261_shape() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        assert_eq!(h.c.poll_timeout(), Some(h.t0));
        let sent = h.tick(h.t0);
        assert_eq!(sent.len(), 1);
        let r = &sent[0].1;
        assert_eq!(r.method, Method::Register);
        assert_eq!(r.uri.to_string(), "sip:192.0.2.10");
        assert_eq!(r.headers.get("To"), Some("<sip:4930123@192.0.2.10>"));
        assert!(
            r.headers
                .get("From")
                .is_some_and(|f| f.starts_with("<sip:4930123@192.0.2.10>;tag="))
        );
        assert_eq!(
            r.headers.get("Contact"),
            Some("<sip:4930123@198.51.100.1:5060>")
        );
        assert_eq!(r.headers.get("Expires"), Some("3600"));
        assert_eq!(r.headers.get("Max-Forwards"), Some("70"));
        assert_eq!(cseq(r), 1);
        assert!(!r.headers.contains("Authorization"));
        assert_eq!(h.sent[0].2, Peer::udp(REGISTRAR.parse().unwrap()));
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Registering));
        assert_eq!(h.c.poll_timeout(), None, "nothing due while in flight");
        assert_eq!(
            h.events(),
            [RegistrationEvent::State {
                trunk: "carrier".into(),
                registered: false
            }]
        );
    }

    #[test]
    fn challenge_is_answered_then_refreshed_with_the_same_call_id() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let (tx1, r1) = h.tick(h.t0).remove(0);
        let t = h.at(0);
        assert!(h.c.on_response(t, tx1, &reply(&r1, 100, &[])));
        assert!(h.c.on_response(
            t,
            tx1,
            &reply(&r1, 401, &[("WWW-Authenticate", &challenge("n1", false))])
        ));
        let (tx2, r2) = h.tick(t).remove(0);
        assert_eq!(cseq(&r2), 2);
        assert_eq!(r2.headers.call_id(), r1.headers.call_id());
        let c = creds(&r2, "Authorization");
        assert_eq!(
            (c.username.as_str(), c.realm.as_str(), c.nonce.as_str()),
            ("acct", "carrier.example", "n1")
        );
        assert_eq!(c.uri, "sip:192.0.2.10");
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc.as_deref(), Some("00000001"));
        assert_eq!(c.opaque.as_deref(), Some("op"));
        let expected = digest::response(
            digest::Algorithm::Md5,
            "acct",
            "carrier.example",
            "pw",
            "REGISTER",
            "sip:192.0.2.10",
            "n1",
            Some(("auth", "00000001", c.cnonce.as_deref().unwrap())),
        );
        assert_eq!(c.response, expected);

        // 200 granting 600 s in our Contact (the Expires header says otherwise).
        let ok = reply(
            &r2,
            200,
            &[
                ("Contact", "<sip:other@203.0.113.5>;expires=100"),
                ("Contact", "<sip:4930123@198.51.100.1:5060>;expires=600"),
                ("Expires", "3600"),
            ],
        );
        assert!(h.c.on_response(t, tx2, &ok));
        let until = t + Duration::from_secs(600);
        assert_eq!(
            h.c.state("carrier"),
            Some(RegistrationState::Registered { until })
        );
        // 600 s: refreshed at half-time, with the cached nonce (nc 2, new cnonce).
        assert_eq!(h.c.poll_timeout(), Some(h.at(300)));
        let (tx3, r3) = h.tick(h.at(300)).remove(0);
        assert_eq!(cseq(&r3), 3);
        assert_eq!(r3.headers.call_id(), r1.headers.call_id());
        let c3 = creds(&r3, "Authorization");
        assert_eq!(
            (c3.nonce.as_str(), c3.nc.as_deref()),
            ("n1", Some("00000002"))
        );
        assert_ne!(c3.cnonce, c.cnonce);
        assert!(
            h.c.state("carrier").unwrap().is_registered(),
            "a refresh keeps the state"
        );
        // Expires header only: taken from it.
        assert!(h.c.on_response(h.at(301), tx3, &reply(&r3, 200, &[("Expires", "3600")])));
        assert_eq!(
            h.c.poll_timeout(),
            Some(h.at(301 + 3000)),
            "10 min before expiry"
        );
        assert_eq!(
            h.events(),
            [
                RegistrationEvent::State {
                    trunk: "carrier".into(),
                    registered: false
                },
                RegistrationEvent::State {
                    trunk: "carrier".into(),
                    registered: true
                }
            ]
        );
    }

    #[test]
    fn same_nonce_twice_is_a_refusal_but_stale_is_answered() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let (tx, r) = h.tick(h.t0).remove(0);
        let t = h.t0;
        h.c.on_response(
            t,
            tx,
            &reply(&r, 401, &[("WWW-Authenticate", &challenge("n1", false))]),
        );
        let (tx, r) = h.tick(t).remove(0);
        // stale=true with a new nonce: answered, nc starts again at 1.
        h.c.on_response(
            t,
            tx,
            &reply(&r, 401, &[("WWW-Authenticate", &challenge("n2", true))]),
        );
        let (tx, r) = h.tick(t).remove(0);
        let c = creds(&r, "Authorization");
        assert_eq!(
            (c.nonce.as_str(), c.nc.as_deref()),
            ("n2", Some("00000001"))
        );
        // The nonce just answered, not stale: wrong password, give up and back off.
        h.c.on_response(
            t,
            tx,
            &reply(&r, 401, &[("WWW-Authenticate", &challenge("n2", false))]),
        );
        assert!(h.tick(t).is_empty());
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Failed));
        assert_eq!(h.c.poll_timeout(), Some(t + RETRY_MIN));
        let ev = h.events();
        assert!(matches!(
            &ev[1],
            RegistrationEvent::Failed { reason, retry_in: Some(d), .. }
                if reason.contains("credentials refused") && *d == RETRY_MIN
        ));
    }

    #[test]
    fn ever_new_nonces_stop_after_two_challenges() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let t = h.t0;
        let mut sent = 0;
        let mut pending = h.tick(t);
        while let Some((tx, r)) = pending.pop() {
            sent += 1;
            let nonce = format!("n{sent}");
            h.c.on_response(
                t,
                tx,
                &reply(&r, 401, &[("WWW-Authenticate", &challenge(&nonce, false))]),
            );
            pending = h.tick(t);
        }
        assert_eq!(
            sent, 3,
            "REGISTER, answer to n1, answer to n2, then give up"
        );
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Failed));
    }

    #[test]
    fn proxy_challenge_uses_proxy_authorization_and_realm_filter() {
        let mut c = cfg("carrier");
        c.auth.as_mut().unwrap().realm = Some("carrier.example".into());
        let mut h = Harness::new(vec![c]);
        let t = h.t0;
        let (tx, r) = h.tick(t).remove(0);
        let other = "Digest realm=\"elsewhere\", nonce=\"x\", qop=\"auth\"";
        h.c.on_response(
            t,
            tx,
            &reply(
                &r,
                407,
                &[
                    ("Proxy-Authenticate", other),
                    ("Proxy-Authenticate", &challenge("p1", false)),
                ],
            ),
        );
        let (_, r) = h.tick(t).remove(0);
        assert!(!r.headers.contains("Authorization"));
        assert_eq!(creds(&r, "Proxy-Authorization").nonce, "p1");
    }

    #[test]
    fn challenge_without_credentials_fails() {
        let mut c = cfg("carrier");
        c.auth = None;
        let mut h = Harness::new(vec![c]);
        let t = h.t0;
        let (tx, r) = h.tick(t).remove(0);
        h.c.on_response(
            t,
            tx,
            &reply(&r, 401, &[("WWW-Authenticate", &challenge("n", false))]),
        );
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Failed));
    }

    #[test]
    fn interval_too_brief_retries_with_min_expires() {
        let mut c = cfg("carrier");
        c.expiry = 60;
        let mut h = Harness::new(vec![c]);
        let t = h.t0;
        let (tx, r) = h.tick(t).remove(0);
        assert_eq!(r.headers.get("Expires"), Some("60"));
        h.c.on_response(t, tx, &reply(&r, 423, &[("Min-Expires", "1800")]));
        let (tx, r) = h.tick(t).remove(0);
        assert_eq!(r.headers.get("Expires"), Some("1800"));
        assert_eq!(cseq(&r), 2);
        // A second 423 asking for no more than we sent is a failure, not a loop.
        h.c.on_response(t, tx, &reply(&r, 423, &[("Min-Expires", "1800")]));
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Failed));
        // The retry keeps the raised lifetime.
        let (_, r) = h.tick(t + RETRY_MIN).remove(0);
        assert_eq!(r.headers.get("Expires"), Some("1800"));
    }

    #[test]
    fn failures_back_off_doubling_to_ten_minutes_and_honour_retry_after() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let mut t = h.t0;
        let mut delays = Vec::new();
        for i in 0..7 {
            let (tx, r) = h.tick(t).remove(0);
            match i {
                0 => assert!(h.c.on_failure(t, tx, Some(Timer::F))),
                1 => assert!(h.c.on_response(t, tx, &reply(&r, 403, &[]))),
                // Retry-After shorter than the backoff: the backoff wins.
                2 => assert!(h.c.on_response(t, tx, &reply(&r, 503, &[("Retry-After", "5")]))),
                // Retry-After longer: honoured.
                3 => assert!(h.c.on_response(t, tx, &reply(&r, 500, &[("Retry-After", "3600")]))),
                _ => assert!(h.c.on_response(t, tx, &reply(&r, 504, &[]))),
            }
            assert_eq!(h.c.state("carrier"), Some(RegistrationState::Failed));
            let next = h.c.poll_timeout().unwrap();
            delays.push((next - t).as_secs());
            t = next;
        }
        assert_eq!(delays, [30, 60, 120, 3600, 480, 600, 600]);
        // Success resets the backoff.
        let (tx, r) = h.tick(t).remove(0);
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Registering));
        h.c.on_response(t, tx, &reply(&r, 200, &[("Expires", "120")]));
        assert_eq!(h.c.poll_timeout(), Some(t + Duration::from_secs(60)));
        let (tx, _) = h.tick(t + Duration::from_secs(60)).remove(0);
        h.c.on_failure(t + Duration::from_secs(60), tx, Some(Timer::F));
        assert_eq!(
            h.c.poll_timeout(),
            Some(t + Duration::from_secs(60) + RETRY_MIN)
        );
        let failed = h
            .events()
            .into_iter()
            .filter(|e| matches!(e, RegistrationEvent::Failed { .. }))
            .count();
        assert_eq!(failed, 8);
    }

    #[test]
    fn removed_trunk_is_unregistered_with_expires_zero() {
        let mut h = Harness::new(vec![cfg("carrier"), cfg("idle")]);
        let t = h.t0;
        let sent = h.tick(t);
        let (tx, r) = sent[0].clone();
        assert_eq!(sent.len(), 2);
        h.c.on_response(t, tx, &reply(&r, 200, &[("Expires", "3600")]));
        // "idle" never got an answer: its REGISTER is abandoned; "carrier" is removed.
        let idle_tx = sent[1].0;
        h.c.reconfigure(t, Vec::new());
        assert_eq!(h.c.states().count(), 0);
        let un = h.run_until(t);
        assert_eq!(un.len(), 2, "both may hold a binding: both un-registered");
        for (_, _, r) in &un {
            assert_eq!(r.headers.get("Expires"), Some("0"));
        }
        let (_, utx, ur) = un
            .iter()
            .find(|(_, _, u)| u.headers.call_id() == r.headers.call_id())
            .cloned()
            .expect("the carrier's un-REGISTER, on its Call-ID");
        assert_eq!(cseq(&ur), 2);
        // The abandoned REGISTER's late answer is still ours, and ignored.
        assert!(h.c.on_response(t, idle_tx, &reply(&sent[1].1, 200, &[])));
        // A challenge to the un-REGISTER is answered too.
        h.c.on_response(
            t,
            utx,
            &reply(&ur, 401, &[("WWW-Authenticate", &challenge("u", false))]),
        );
        let (_, _, ur2) = h.run_until(t).remove(0);
        assert_eq!(ur2.headers.get("Expires"), Some("0"));
        assert!(ur2.headers.contains("Authorization"));
        let utx2 = h.sent.last().unwrap().0;
        h.c.on_response(t, utx2, &reply(&ur2, 200, &[]));
        let other = un.iter().find(|(_, tx, _)| *tx != utx).unwrap().1;
        assert!(h.c.on_failure(t, other, Some(Timer::F)));
        assert_eq!(h.c.poll_timeout(), None, "all gone");
        assert!(!h.c.on_response(t, utx2, &reply(&ur2, 200, &[])));
    }

    #[test]
    fn draining_unregisters_and_resuming_registers_again() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let t = h.t0;
        let (tx, r) = h.tick(t).remove(0);
        h.c.on_response(t, tx, &reply(&r, 200, &[("Expires", "3600")]));
        h.events();
        h.c.set_active(t, false);
        let (tx, r) = h.tick(t).remove(0);
        assert_eq!(r.headers.get("Expires"), Some("0"));
        assert!(
            h.c.state("carrier").unwrap().is_registered(),
            "registered until the registrar confirms"
        );
        h.c.on_response(t, tx, &reply(&r, 200, &[]));
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Unregistered));
        assert_eq!(h.c.poll_timeout(), None, "no refresh while draining");
        h.c.set_active(t, true);
        let (_, r) = h.tick(t).remove(0);
        assert_eq!(r.headers.get("Expires"), Some("3600"));
        assert_eq!(cseq(&r), 3);
        assert_eq!(
            h.events(),
            [RegistrationEvent::State {
                trunk: "carrier".into(),
                registered: false
            }]
        );
    }

    #[test]
    fn changed_registrar_moves_the_binding_and_changed_expiry_refreshes() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let t = h.t0;
        let (tx, r) = h.tick(t).remove(0);
        h.c.on_response(t, tx, &reply(&r, 200, &[("Expires", "3600")]));
        let mut c = cfg("carrier");
        c.expiry = 900;
        h.c.reconfigure(t, vec![c.clone()]);
        let (_, r2) = h.tick(t).remove(0);
        assert_eq!(r2.headers.get("Expires"), Some("900"));
        assert_eq!(r2.headers.call_id(), r.headers.call_id());

        c.registrar = Some("192.0.2.20:5080".parse().unwrap());
        c.domain = "192.0.2.20".into();
        h.c.reconfigure(t, vec![c]);
        let sent = h.tick(t);
        assert_eq!(sent.len(), 2);
        let new = sent
            .iter()
            .find(|(_, r)| r.headers.get("Expires") == Some("900"))
            .unwrap();
        let old = sent
            .iter()
            .find(|(_, r)| r.headers.get("Expires") == Some("0"))
            .unwrap();
        assert_eq!(new.1.uri.to_string(), "sip:192.0.2.20:5080");
        assert_ne!(new.1.headers.call_id(), r.headers.call_id());
        assert_eq!(old.1.headers.call_id(), r.headers.call_id());
        assert_eq!(
            h.sent
                .iter()
                .filter(|(_, _, p)| p.addr.port() == 5080)
                .count(),
            1
        );
    }

    #[test]
    fn host_name_registrar_is_failed_without_sending() {
        let mut c = cfg("carrier");
        c.registrar = None;
        c.domain = "sip.carrier.example".into();
        let mut h = Harness::new(vec![c]);
        assert_eq!(h.c.poll_timeout(), None);
        assert!(h.tick(h.t0).is_empty());
        assert_eq!(h.c.state("carrier"), Some(RegistrationState::Failed));
        assert!(
            h.events()
                .iter()
                .any(|e| matches!(e, RegistrationEvent::Failed { retry_in: None, .. }))
        );
    }

    #[test]
    fn first_transport_error_retries_soon_then_backs_off() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let t = h.t0;
        let (tx, _) = h.tick(t).remove(0);
        assert!(h.c.on_failure(t, tx, None));
        assert_eq!(h.c.poll_timeout(), Some(t + TRANSPORT_RETRY));
        let t = t + TRANSPORT_RETRY;
        let (tx, _) = h.tick(t).remove(0);
        assert!(h.c.on_failure(t, tx, None));
        assert_eq!(h.c.poll_timeout(), Some(t + backoff(1)));
        let reasons: Vec<String> = h
            .events()
            .into_iter()
            .filter_map(|e| match e {
                RegistrationEvent::Failed { reason, .. } => Some(reason),
                RegistrationEvent::State { .. } => None,
            })
            .collect();
        assert_eq!(reasons, ["transport error", "transport error"]);
    }

    #[test]
    fn refresh_and_backoff_figures() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3000));
        assert_eq!(refresh_after(1200), Duration::from_secs(600));
        assert_eq!(refresh_after(600), Duration::from_secs(300));
        assert_eq!(refresh_after(60), Duration::from_secs(30));
        assert_eq!(refresh_after(1), Duration::from_secs(1));
        assert_eq!(backoff(0), RETRY_MIN);
        assert_eq!(backoff(4), Duration::from_secs(480));
        assert_eq!(backoff(5), RETRY_MAX);
        assert_eq!(backoff(1000), RETRY_MAX);
    }

    #[test]
    fn foreign_transactions_are_not_ours() {
        let mut h = Harness::new(vec![cfg("carrier")]);
        let (_, r) = h.tick(h.t0).remove(0);
        assert!(!h.c.on_response(h.t0, ClientTxId(999), &reply(&r, 200, &[])));
        assert!(!h.c.on_failure(h.t0, ClientTxId(999), None));
    }
}
