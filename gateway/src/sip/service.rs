//! The SIP user-agent core above the [`Endpoint`]: the registrar with digest
//! authentication (RFC 3261 §10.3, §22; RFC 7616), OPTIONS (§11), and the standard
//! answers to everything the gateway does not (yet) serve. Sans-IO: the shell gives it
//! bytes, `now` and the wall clock, and sends what it outputs.
//!
//! Toward carriers it is also a UAC: trunks with `register:` are registered
//! ([`RegistrationClient`], RFC 3261 §10.2) and trunks with `options_ping_seconds` are
//! watched with OPTIONS ([`TrunkMonitor`], §11); their transactions' responses are
//! routed to them before the call legs.
//!
//! Calls (INVITE): the ingress trunk is found by source address, or a registered user
//! is authenticated (digest, §22.3); the INVITE then becomes a [`CallLegs`] leg whose
//! events go to the call core. Unknown sources get 403; while draining, 503.

use crate::config::{Config, TrunkParams};
use crate::sip::call_leg::{CallLegs, LegId, LegNotice, OutgoingCall};
use crate::sip::digest::{self, Algorithm, Challenge, Credentials, NonceIssuer, Verdict};
use crate::sip::endpoint::{Endpoint, EndpointConfig, Event, Output, Peer, Transport};
use crate::sip::message::{Contact, Limits, Method, Request, Response};
use crate::sip::registrar::{
    ContactEntry, LocationService, RegisterError, RegisterRequest, RegistrarPolicy,
};
use crate::sip::registration_client::{
    RegistrationClient, RegistrationConfig, RegistrationEvent, RegistrationState,
};
use crate::sip::transaction::TimerConfig;
use crate::sip::trunk_monitor::{MonitorEvent, PingConfig, TrunkMonitor};
use crate::sip::trunks::TrunkDirectory;
use mapping::model::{CallEvent, Setup};
use mapping::sip::caller_id::SipIdentityIn;
use mapping::sip::messages::{InviteIn, invite_to_setup};
use mapping::sip::number_form::NumberForm;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Methods the gateway answers (Allow header, RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK";

/// A registrar user, with the digest hashes precomputed.
#[derive(Debug, Clone)]
struct User {
    trunk: String,
    realm: String,
    ha1_md5: String,
    ha1_sha256: String,
}

/// Registration, authentication and trunk results, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A REGISTER was accepted (`removed`: it removed the last binding).
    Registered {
        /// True when the user has no binding left.
        removed: bool,
    },
    /// Credentials were checked and refused.
    AuthFailed,
    /// A transaction timed out: Timer `B`, `F` (no answer) or `H` (no ACK).
    TransactionTimeout(&'static str),
    /// Our registration with a trunk's registrar: sent when the trunk is set up and
    /// whenever it changes.
    Registration {
        /// The trunk.
        trunk: String,
        /// Registered or not.
        registered: bool,
    },
    /// A registration attempt with a trunk failed.
    RegistrationFailed {
        /// The trunk.
        trunk: String,
        /// Status line, `timeout`, or why it is not tried.
        reason: String,
        /// Seconds until the retry (`None`: not retried).
        retry_in_seconds: Option<u64>,
    },
    /// A pinged trunk is up (some remote answers OPTIONS) or down: sent when the trunk
    /// is set up and whenever it changes.
    TrunkState {
        /// The trunk.
        trunk: String,
        /// Up or down.
        up: bool,
    },
    /// One remote of a pinged trunk went up or down.
    TrunkRemote {
        /// The trunk.
        trunk: String,
        /// The remote.
        remote: SocketAddr,
        /// Up or down.
        up: bool,
    },
    /// A SIP trunk left the configuration (its series can go).
    TrunkRemoved {
        /// The trunk.
        trunk: String,
    },
}

/// What the service asks the shell to do: the endpoint's outputs (events are consumed
/// here) and notices for metrics.
// Outputs are queued and moved out once; boxing the large variant would add an
// allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceOutput {
    /// An endpoint output (Transmit, Received, DecodeError).
    Endpoint(Output),
    /// Something to count.
    Notice(Notice),
    /// A new call came in on `trunk`: the call core routes it.
    Incoming {
        /// The incoming leg.
        leg: LegId,
        /// The ingress trunk.
        trunk: String,
        /// The call.
        setup: Box<Setup>,
    },
    /// A call leg's event for the call core.
    Leg(LegNotice),
}

/// The SIP service.
pub struct SipService {
    endpoint: Endpoint,
    users: HashMap<String, User>,
    location: LocationService,
    nonces: NonceIssuer,
    draining: bool,
    calls: CallLegs,
    trunks: TrunkDirectory,
    registrations: RegistrationClient,
    monitor: TrunkMonitor,
    out: VecDeque<ServiceOutput>,
    /// The latest `now` given.
    clock: Instant,
}

/// The endpoint settings a configuration gives.
pub fn endpoint_config(cfg: &Config) -> EndpointConfig {
    let t = &cfg.sip.timers;
    let mut sent_by = HashMap::new();
    for l in &cfg.listeners.sip {
        let transport = match l.transport {
            crate::config::SipTransport::Udp => Transport::Udp,
            crate::config::SipTransport::Tcp => Transport::Tcp,
            crate::config::SipTransport::Tls => Transport::Tls,
        };
        sent_by.entry(transport).or_insert(l.address);
    }
    EndpointConfig {
        timers: TimerConfig {
            t1: Duration::from_millis(t.t1_ms),
            t2: Duration::from_millis(t.t2_ms),
            t4: Duration::from_millis(t.t4_ms),
        },
        limits: Limits {
            max_message: cfg.sip.max_message_bytes,
            max_body: cfg.sip.max_message_bytes,
            ..Limits::default()
        },
        sent_by,
        user_agent: cfg.sip.user_agent.clone(),
    }
}

fn users_of(cfg: &Config) -> HashMap<String, User> {
    let mut users = HashMap::new();
    for t in &cfg.trunks {
        if let TrunkParams::Sip(s) = &t.params {
            let realm = s
                .realm
                .clone()
                .unwrap_or_else(|| cfg.general.node_name.clone());
            for u in &s.users {
                let pw = u.password.expose();
                users.insert(
                    u.name.clone(),
                    User {
                        trunk: t.name.clone(),
                        realm: realm.clone(),
                        ha1_md5: digest::ha1(Algorithm::Md5, &u.name, &realm, pw),
                        ha1_sha256: digest::ha1(Algorithm::Sha256, &u.name, &realm, pw),
                    },
                );
            }
        }
    }
    users
}

fn policy_of(cfg: &Config) -> RegistrarPolicy {
    let r = &cfg.sip.registrar;
    RegistrarPolicy {
        default_expires: r.default_expires_seconds,
        min_expires: r.min_expires_seconds,
        max_expires: r.max_expires_seconds,
        max_contacts: r.max_contacts,
    }
}

/// Our address for `transport` among the endpoint's sent-by addresses.
fn local_of(cfg: &EndpointConfig, transport: Transport) -> SocketAddr {
    cfg.sent_by
        .get(&transport)
        .or_else(|| cfg.sent_by.values().next())
        .copied()
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)))
}

impl SipService {
    /// A service for `cfg`; `seed` feeds identifiers, `nonce_secret` the digest nonces
    /// (both from OS randomness in the daemon). Registrations and OPTIONS pings start
    /// now (the shell's clock at start-up).
    pub fn new(cfg: &Config, seed: u64, nonce_secret: [u8; 32]) -> SipService {
        SipService::new_at(cfg, seed, nonce_secret, Instant::now())
    }

    /// [`SipService::new`] with the start time given: the first REGISTERs and OPTIONS
    /// are due at `now`.
    pub fn new_at(cfg: &Config, seed: u64, nonce_secret: [u8; 32], now: Instant) -> SipService {
        let ecfg = endpoint_config(cfg);
        let registrations = RegistrationClient::new(
            now,
            seed ^ 0x5245_4749_5354_4552,
            RegistrationConfig::from_config(cfg, |t| local_of(&ecfg, t)),
        );
        let monitor = TrunkMonitor::new(
            now,
            seed ^ 0x4f50_5449_4f4e_5321,
            PingConfig::from_config(cfg, |t| local_of(&ecfg, t)),
        );
        let mut s = SipService {
            endpoint: Endpoint::new(ecfg, seed),
            users: users_of(cfg),
            location: LocationService::new(policy_of(cfg)),
            nonces: NonceIssuer::new(nonce_secret, cfg.sip.registrar.nonce_lifetime_seconds),
            draining: false,
            calls: CallLegs::default(),
            trunks: TrunkDirectory::from_config(cfg),
            registrations,
            monitor,
            out: VecDeque::new(),
            clock: now,
        };
        s.calls.session_policy = crate::sip::session_timer::Policy::from_config(cfg);
        s.client_events();
        s
    }

    /// Applies a reloaded configuration: users and timers change, bindings stay. Trunks
    /// that register or are pinged follow the new settings; a trunk that no longer
    /// registers is un-registered (`Expires: 0`). The shell gives no time here, so the
    /// clock is read: [`SipService::reconfigure_at`] is the same with `now` given.
    pub fn reconfigure(&mut self, cfg: &Config) {
        let (now, wall) = self.wall_clock();
        self.reconfigure_at(now, wall, cfg);
    }

    /// [`SipService::reconfigure`] at `now`: the REGISTERs and OPTIONS it starts are
    /// sent at once.
    pub fn reconfigure_at(&mut self, now: Instant, wall: u64, cfg: &Config) {
        self.users = users_of(cfg);
        self.trunks = TrunkDirectory::from_config(cfg);
        self.calls.session_policy = crate::sip::session_timer::Policy::from_config(cfg);
        self.endpoint.set_timers(endpoint_config(cfg).timers);
        let ecfg = endpoint_config(cfg);
        self.registrations.reconfigure(
            now,
            RegistrationConfig::from_config(cfg, |t| local_of(&ecfg, t)),
        );
        let before: Vec<String> = self.monitor.trunks().map(str::to_owned).collect();
        self.monitor
            .reconfigure(now, PingConfig::from_config(cfg, |t| local_of(&ecfg, t)));
        self.client_events();
        for trunk in before {
            if self.trunks.get(&trunk).is_none() {
                self.out
                    .push_back(ServiceOutput::Notice(Notice::TrunkRemoved { trunk }));
            }
        }
        self.pump(now, wall);
    }

    /// The clock for the entry points the shell gives no time: monotonic (never before
    /// a `now` already given) and wall seconds.
    fn wall_clock(&self) -> (Instant, u64) {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        (Instant::now().max(self.clock), wall)
    }

    /// Stops taking new calls (SIGTERM): INVITE and OPTIONS get 503, and the carrier
    /// registrations are removed (`Expires: 0`, sent at once) so carriers stop sending
    /// calls; `false` registers them again. The clock is read, as in
    /// [`SipService::reconfigure`]; [`SipService::set_draining_at`] takes `now`.
    pub fn set_draining(&mut self, draining: bool) {
        let (now, wall) = self.wall_clock();
        self.set_draining_at(now, wall, draining);
    }

    /// [`SipService::set_draining`] at `now`.
    pub fn set_draining_at(&mut self, now: Instant, wall: u64, draining: bool) {
        self.draining = draining;
        self.registrations.set_active(now, !draining);
        self.pump(now, wall);
    }

    /// Whether `trunk` is up: false only for a trunk with OPTIONS pings none of whose
    /// remotes answers.
    pub fn trunk_up(&self, name: &str) -> bool {
        self.monitor.is_up(name)
    }

    /// The remotes of `trunk` that answer OPTIONS (all of them on a trunk without pings).
    pub fn up_remotes(&self, name: &str) -> Vec<SocketAddr> {
        self.monitor.up_remotes(name)
    }

    /// The registration state of every trunk with `register:`.
    pub fn registration_states(&self) -> impl Iterator<Item = (&str, RegistrationState)> + '_ {
        self.registrations.states()
    }

    /// Whether new calls are refused (draining).
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Addresses of record with a live binding.
    pub fn registrations(&self) -> usize {
        self.location.registered()
    }

    /// The registered contacts of `user` (for routing calls to registered users).
    pub fn contacts_of(&self, user: &str, now: Instant) -> Vec<crate::sip::registrar::Binding> {
        self.location.lookup(user, now)
    }

    /// One message from a transport; `wall` is seconds since the Unix epoch (nonces).
    pub fn handle_input(&mut self, now: Instant, wall: u64, peer: Peer, bytes: &[u8]) {
        self.endpoint.handle_input(now, peer, bytes);
        self.pump(now, wall);
    }

    /// A stream message that could not be framed (no Content-Length, RFC 3261 §18.3):
    /// 400 when its head is a readable request; the shell then closes the connection.
    pub fn reject_unframed(&mut self, now: Instant, wall: u64, peer: Peer, head: &[u8]) {
        self.endpoint
            .reject(peer, head, 400, "Missing Content-Length");
        self.pump(now, wall);
    }

    /// The earliest deadline (transactions, binding expiry, 2xx retransmission,
    /// registrations, OPTIONS pings). Output still queued (after an entry point that
    /// the shell does not follow with `poll_output`, like `set_draining`) makes it
    /// due at once.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.out.is_empty() {
            return Some(self.clock);
        }
        [
            self.endpoint.poll_timeout(),
            self.location.poll_timeout(),
            self.calls.poll_timeout(),
            self.registrations.poll_timeout(),
            self.monitor.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, wall: u64) {
        self.endpoint.handle_timeout(now);
        self.location.handle_timeout(now);
        self.calls.handle_timeout(now, &mut self.endpoint);
        self.pump(now, wall);
    }

    /// The SIP trunks.
    pub fn trunks(&self) -> &TrunkDirectory {
        &self.trunks
    }

    /// The peer address of a call leg (for call records and RADIUS).
    pub fn peer_of(&self, leg: LegId) -> Option<std::net::SocketAddr> {
        self.calls.peer_of(leg)
    }

    /// The Call-ID of a call leg (for call records).
    pub fn call_id_of(&self, leg: LegId) -> Option<String> {
        self.calls.call_id_of(leg)
    }

    /// Live (server, client) transactions, for leak checks.
    pub fn transaction_count(&self) -> (usize, usize) {
        self.endpoint.transaction_count()
    }

    /// The endpoint (tests check its deadline index).
    #[cfg(test)]
    pub(crate) fn endpoint(&self) -> &crate::sip::endpoint::Endpoint {
        &self.endpoint
    }

    /// Live call legs.
    pub fn leg_count(&self) -> usize {
        self.calls.len()
    }

    /// Our address for `transport` (Contact, SDP origin).
    pub fn local_address(&self, transport: Transport) -> std::net::SocketAddr {
        local_of(self.endpoint.config(), transport)
    }

    /// A call event from the call core for one of our legs.
    pub fn call_send(&mut self, now: Instant, wall: u64, leg: LegId, event: CallEvent) {
        self.calls.send(now, &mut self.endpoint, leg, event);
        self.pump(now, wall);
    }

    /// Starts an outgoing leg.
    pub fn call_start(&mut self, now: Instant, wall: u64, call: OutgoingCall) -> LegId {
        let local = self.local_address(call.peer.transport);
        let leg = self.calls.outgoing(now, &mut self.endpoint, call, local);
        self.pump(now, wall);
        leg
    }

    /// A stream connection toward `peer` failed.
    pub fn handle_transport_error(&mut self, now: Instant, wall: u64, peer: Peer) {
        self.endpoint.handle_transport_error(now, peer);
        self.pump(now, wall);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<ServiceOutput> {
        self.out.pop_front()
    }

    fn pump(&mut self, now: Instant, wall: u64) {
        self.clock = self.clock.max(now);
        loop {
            if let Some(o) = self.endpoint.poll_output() {
                match o {
                    Output::Event(e) => self.on_event(now, wall, e),
                    other => self.out.push_back(ServiceOutput::Endpoint(other)),
                }
            } else if let Some(n) = self.calls.poll_notice() {
                self.out.push_back(ServiceOutput::Leg(n));
            } else if self.clients_due(now) {
                // REGISTERs and OPTIONS due (timers, or a challenge to answer now).
                let endpoint = &mut self.endpoint;
                self.registrations
                    .handle_timeout(now, |req, peer| endpoint.send_request(now, req, peer));
                self.monitor
                    .handle_timeout(now, |req, peer| endpoint.send_request(now, req, peer));
            } else {
                break;
            }
        }
        self.client_events();
    }

    fn clients_due(&self, now: Instant) -> bool {
        [
            self.registrations.poll_timeout(),
            self.monitor.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .any(|t| t <= now)
    }

    /// Moves the registration and trunk events to the output as notices.
    fn client_events(&mut self) {
        while let Some(e) = self.registrations.poll_event() {
            let n = match e {
                RegistrationEvent::State { trunk, registered } => {
                    Notice::Registration { trunk, registered }
                }
                RegistrationEvent::Failed {
                    trunk,
                    reason,
                    retry_in,
                } => Notice::RegistrationFailed {
                    trunk,
                    reason,
                    retry_in_seconds: retry_in.map(|d| d.as_secs()),
                },
            };
            self.out.push_back(ServiceOutput::Notice(n));
        }
        while let Some(e) = self.monitor.poll_event() {
            let n = match e {
                MonitorEvent::Trunk { trunk, up } => Notice::TrunkState { trunk, up },
                MonitorEvent::Remote { trunk, remote, up } => {
                    Notice::TrunkRemote { trunk, remote, up }
                }
            };
            self.out.push_back(ServiceOutput::Notice(n));
        }
    }

    fn on_event(&mut self, now: Instant, wall: u64, e: Event) {
        let (tx, request, peer) = match e {
            Event::Request { tx, request, peer } => (tx, request, peer),
            Event::ClientFailed { tx, timer } => {
                if let Some(t) = timer {
                    let name = if t == crate::sip::transaction::Timer::B {
                        "B"
                    } else {
                        "F"
                    };
                    self.out
                        .push_back(ServiceOutput::Notice(Notice::TransactionTimeout(name)));
                }
                if !self.registrations.on_failure(now, tx, timer)
                    && !self.monitor.on_failure(now, tx)
                {
                    self.calls.client_failed(now, &mut self.endpoint, tx, timer);
                }
                return;
            }
            Event::ServerFailed { tx } => {
                self.out
                    .push_back(ServiceOutput::Notice(Notice::TransactionTimeout("H")));
                self.calls.server_failed(now, &mut self.endpoint, tx);
                return;
            }
            Event::Cancelled { tx } => {
                self.calls.cancelled(now, &mut self.endpoint, tx, None);
                return;
            }
            Event::Ack { request, .. } => {
                self.calls.ack(now, &request);
                return;
            }
            Event::Response { tx, response } => {
                if !self.registrations.on_response(now, tx, &response)
                    && !self.monitor.on_response(now, tx, &response)
                {
                    self.calls.response(now, &mut self.endpoint, tx, response);
                }
                return;
            }
            Event::Stray2xx { response, peer } => {
                self.calls.stray_2xx(&mut self.endpoint, &response, peer);
                return;
            }
        };
        let in_dialog = request
            .headers
            .to()
            .ok()
            .flatten()
            .is_some_and(|to| to.tag().is_some());
        if in_dialog
            && self
                .calls
                .in_dialog(now, &mut self.endpoint, tx, &request)
                .is_some()
        {
            return;
        }
        let resp = match request.method {
            Method::Register => self.register(now, wall, &request, peer),
            Method::Options => self.options(&request),
            _ if in_dialog => {
                // §12.2.2: a request in a dialog we do not have.
                reply(&request, 481, "Call/Transaction Does Not Exist")
            }
            Method::Invite => match self.invite(now, wall, tx, request.clone(), peer) {
                Ok(()) => return,
                Err(resp) => resp,
            },
            Method::Bye | Method::Info | Method::Update | Method::Prack => {
                reply(&request, 481, "Call/Transaction Does Not Exist")
            }
            // §8.2.1: an unrecognised method is 501, a known one we do not serve 405,
            // both with Allow.
            Method::Other(_) => reply(&request, 501, "Not Implemented").with_header("Allow", ALLOW),
            _ => reply(&request, 405, "Method Not Allowed").with_header("Allow", ALLOW),
        };
        // What this queues is drained by the `pump` loop that called us.
        self.endpoint.send_response(now, tx, resp);
    }

    /// A new INVITE: find its trunk, make it a leg and tell the call core. `Err` is the
    /// response that refuses it.
    fn invite(
        &mut self,
        now: Instant,
        wall: u64,
        tx: crate::sip::endpoint::ServerTxId,
        request: Request,
        peer: Peer,
    ) -> Result<(), Response> {
        if self.draining {
            return Err(
                reply(&request, 503, "Service Unavailable").with_header("Retry-After", "60")
            );
        }
        // RFC 3261 §8.2.2.3: extensions we do not support cannot be required (we do
        // 100rel, timer and replaces).
        let unsupported = crate::sip::call_leg::unsupported_required(&request);
        if !unsupported.is_empty() {
            let list = unsupported.join(", ");
            return Err(reply(&request, 420, "Bad Extension").with_header("Unsupported", &list));
        }
        // RFC 4028 §8.1: a session interval below our minimum is refused with our Min-SE.
        if let Some(min_se) =
            crate::sip::session_timer::too_small(&request, self.calls.session_policy)
        {
            return Err(reply(&request, 422, "Session Interval Too Small")
                .with_header("Min-SE", &min_se.to_string()));
        }
        let (trunk, trusted) = match self.trunks.ingress(peer.addr) {
            Some(t) => (t.name.clone(), t.trusted),
            None => {
                let from_user = request.headers.from().ok().flatten().and_then(|f| {
                    f.uri
                        .as_sip()
                        .and_then(|u| u.user_unescaped())
                        .map(|u| u.into_owned())
                });
                let Some((name, user)) =
                    from_user.and_then(|n| self.users.get(&n).cloned().map(|u| (n, u)))
                else {
                    // Neither a configured peer nor one of our users.
                    return Err(reply(&request, 403, "Forbidden"));
                };
                if let Err(stale) = self.authenticate(&request, &name, &user, wall) {
                    if request.headers.authorization().is_ok_and(|a| !a.is_empty()) {
                        self.out
                            .push_back(ServiceOutput::Notice(Notice::AuthFailed));
                    }
                    return Err(self.challenge(&request, &user.realm, wall, stale));
                }
                (user.trunk.clone(), false)
            }
        };
        let local = self.local_address(peer.transport);
        let (leg, media) =
            match self
                .calls
                .incoming(&mut self.endpoint, tx, request.clone(), peer, local)
            {
                Ok(v) => v,
                Err(status) => return Err(reply(&request, status, "")),
            };
        let h = &request.headers;
        let identity = SipIdentityIn {
            from: h.get("From").unwrap_or_default(),
            p_asserted_identity: h.get("P-Asserted-Identity"),
            remote_party_id: h.get("Remote-Party-ID"),
            privacy: h.get("Privacy"),
        };
        let uri = request.uri.to_string();
        let invite = InviteIn {
            request_uri: &uri,
            identity,
            media,
            diversion: h.get_all("Diversion").collect(),
        };
        match invite_to_setup(&invite, trusted, &NumberForm::default()) {
            Ok(setup) => {
                self.out.push_back(ServiceOutput::Incoming {
                    leg,
                    trunk,
                    setup: Box::new(setup),
                });
            }
            Err(e) => {
                let release = mapping::model::Release {
                    cause: mapping::cause::Cause::user(
                        mapping::cause::Q850Cause::UNALLOCATED_NUMBER,
                    ),
                    initiator: mapping::model::Initiator::Gateway,
                    sip_status: Some(e.status()),
                };
                self.calls
                    .send(now, &mut self.endpoint, leg, CallEvent::Release(release));
            }
        }
        Ok(())
    }

    /// §11.2: 200 with what we support; 503 while draining.
    fn options(&mut self, req: &Request) -> Response {
        if self.draining {
            return reply(req, 503, "Service Unavailable").with_header("Retry-After", "60");
        }
        reply(req, 200, "OK")
            .with_header("Allow", ALLOW)
            .with_header("Accept", "application/sdp")
            .with_header("Supported", crate::sip::call_leg::SUPPORTED)
    }

    /// §10.3: authenticate, then update the bindings of the To user.
    fn register(&mut self, now: Instant, wall: u64, req: &Request, peer: Peer) -> Response {
        let Some(aor_user) = req.headers.to().ok().flatten().and_then(|to| {
            to.uri
                .as_sip()
                .and_then(|u| u.user_unescaped())
                .map(|u| u.into_owned())
        }) else {
            return reply(req, 404, "Not Found");
        };
        let Some(user) = self.users.get(&aor_user).cloned() else {
            // §10.3 step 3: not an address of record of ours.
            return reply(req, 404, "Not Found");
        };
        match self.authenticate(req, &aor_user, &user, wall) {
            Ok(()) => {}
            Err(stale) => {
                self.out
                    .push_back(ServiceOutput::Notice(Notice::AuthFailed));
                return self.challenge(req, &user.realm, wall, stale);
            }
        }
        let request = match req.headers.contacts() {
            Ok(c) if c.is_empty() => RegisterRequest::Query,
            Ok(c) if c.iter().any(|c| matches!(c, Contact::Star)) => {
                if c.len() != 1 {
                    return reply(req, 400, "Bad Request");
                }
                RegisterRequest::RemoveAll
            }
            Ok(c) => RegisterRequest::Contacts(
                c.into_iter()
                    .filter_map(|c| match c {
                        Contact::Addr(a) => Some(ContactEntry {
                            uri: a.uri.to_string(),
                            expires: a.expires(),
                            q: a.q().map(|q| f32::from(q) / 1000.0),
                        }),
                        Contact::Star => None,
                    })
                    .collect(),
            ),
            Err(_) => return reply(req, 400, "Bad Request"),
        };
        let expires = req.headers.expires().ok().flatten();
        let call_id = req.headers.call_id().unwrap_or_default().to_owned();
        let cseq = req.headers.cseq().ok().flatten().map_or(0, |c| c.seq);
        let source: Option<SocketAddr> = Some(peer.addr);
        match self
            .location
            .register(now, &aor_user, &request, expires, &call_id, cseq, source)
        {
            Ok(bindings) => {
                self.out
                    .push_back(ServiceOutput::Notice(Notice::Registered {
                        removed: bindings.is_empty(),
                    }));
                let mut r = reply(req, 200, "OK");
                for b in &bindings {
                    r.headers.push(
                        "Contact",
                        &format!("<{}>;expires={}", b.uri, b.remaining(now)),
                    );
                }
                r
            }
            Err(RegisterError::IntervalTooBrief { min_expires }) => {
                reply(req, 423, "Interval Too Brief")
                    .with_header("Min-Expires", &min_expires.to_string())
            }
            Err(e) => reply(req, e.status(), ""),
        }
    }

    /// Checks the Authorization header; `Err(stale)` asks for a challenge.
    fn authenticate(
        &self,
        req: &Request,
        aor_user: &str,
        user: &User,
        wall: u64,
    ) -> Result<(), bool> {
        let Ok(values) = req.headers.authorization() else {
            return Err(false);
        };
        let mut stale = false;
        for v in values.iter().filter(|v| v.is_digest()) {
            let params: Vec<(String, String)> = v
                .params
                .iter()
                .map(|(n, raw)| (n.clone(), crate::sip::message::unquote(raw).into_owned()))
                .collect();
            let Some(creds) =
                Credentials::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            else {
                continue;
            };
            if creds.realm != user.realm {
                continue;
            }
            // §22.4: the credentials must be the address of record's own.
            if creds.username != aor_user {
                return Err(false);
            }
            let ha1 = match creds.algorithm {
                Algorithm::Md5 | Algorithm::Md5Sess => &user.ha1_md5,
                Algorithm::Sha256 | Algorithm::Sha256Sess => &user.ha1_sha256,
            };
            match digest::verify(
                &creds,
                req.method.as_str(),
                &user.realm,
                ha1,
                &self.nonces,
                wall,
            ) {
                Verdict::Ok => return Ok(()),
                Verdict::Stale => stale = true,
                Verdict::Rejected => return Err(false),
            }
        }
        Err(stale)
    }

    /// 401 with a SHA-256 and an MD5 challenge, preferred first (RFC 8760 §2.4).
    fn challenge(&mut self, req: &Request, realm: &str, wall: u64, stale: bool) -> Response {
        let mut r = reply(req, 401, "Unauthorized");
        for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
            let c = Challenge {
                realm: realm.to_owned(),
                nonce: self.nonces.issue(realm, wall),
                opaque: None,
                algorithm,
                qop: vec!["auth".to_owned()],
                stale,
            };
            r.headers.push("WWW-Authenticate", &c.to_header_value());
        }
        r
    }

    /// The trunk a registered user belongs to (calls from the user come in on it).
    pub fn trunk_of_user(&self, user: &str) -> Option<&str> {
        self.users.get(user).map(|u| u.trunk.as_str())
    }
}

/// A response to `req` with our To tag (every final response of a UAS needs one,
/// §8.2.6.2; a fixed tag per request is fine since no dialog is created here).
fn reply(req: &Request, status: u16, reason: &str) -> Response {
    let tag = format!(
        "gw{:x}",
        req.headers
            .call_id()
            .unwrap_or_default()
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
    );
    Response::for_request(req, status, reason).with_to_tag(&tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{AuthValue, SipMessage};

    const CONFIG: &str = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"127.0.0.1:9464\"
trunks:
  - name: phones
    kind: sip
    realm: gw.test
    users:
      - { name: \"3000\", password: s3cret }
";

    fn service() -> SipService {
        let cfg = Config::parse("t.yaml", CONFIG).expect("test config is valid");
        SipService::new(&cfg, 1, [9; 32])
    }

    fn phone() -> Peer {
        Peer::udp("127.0.0.1:5064".parse().expect("addr"))
    }

    fn request(method: &str, user: &str, cseq: u32, extra: &str) -> Vec<u8> {
        format!(
            "{method} sip:127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5064;branch=z9hG4bK{cseq}{method};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@gw.test>;tag=ph1\r\n\
             To: <sip:{user}@gw.test>\r\n\
             Call-ID: reg-1\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:{user}@127.0.0.1:5064>;expires=600\r\n\
             {extra}\
             Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    /// The final responses sent.
    fn finals(s: &mut SipService) -> Vec<Response> {
        let mut v = Vec::new();
        while let Some(o) = s.poll_output() {
            if let ServiceOutput::Endpoint(Output::Transmit { bytes, .. }) = o
                && let Ok(SipMessage::Response(r)) = SipMessage::parse(&bytes)
                && r.status.0 >= 200
            {
                v.push(r);
            }
        }
        v
    }

    fn authorization(challenge: &Response, password: &str) -> String {
        let header = challenge
            .headers
            .get_all("WWW-Authenticate")
            .next()
            .expect("a challenge");
        let v = AuthValue::parse(header).expect("challenge parses");
        let params: Vec<(String, String)> = v
            .params
            .iter()
            .map(|(n, raw)| (n.clone(), crate::sip::message::unquote(raw).into_owned()))
            .collect();
        let ch = Challenge::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .expect("complete challenge");
        assert_eq!(ch.algorithm, Algorithm::Sha256, "SHA-256 offered first");
        let creds = digest::answer(
            &ch,
            "3000",
            password,
            "REGISTER",
            "sip:127.0.0.1:5060",
            "cn",
            1,
        );
        format!("Authorization: {}\r\n", creds.to_header_value())
    }

    #[test]
    fn register_is_challenged_then_bound() {
        let (t0, wall) = (Instant::now(), 1_000_000);
        let mut s = service();
        s.handle_input(t0, wall, phone(), &request("REGISTER", "3000", 1, ""));
        let r = finals(&mut s);
        assert_eq!(r[0].status.0, 401);
        assert_eq!(r[0].headers.get_all("WWW-Authenticate").count(), 2);

        let wrong = authorization(&r[0], "guess");
        s.handle_input(t0, wall, phone(), &request("REGISTER", "3000", 2, &wrong));
        assert_eq!(
            finals(&mut s)[0].status.0,
            401,
            "wrong password: challenged again"
        );
        assert_eq!(s.registrations(), 0);

        let right = authorization(&r[0], "s3cret");
        s.handle_input(
            t0,
            wall + 5,
            phone(),
            &request("REGISTER", "3000", 3, &right),
        );
        let ok = &finals(&mut s)[0];
        assert_eq!(ok.status.0, 200);
        assert_eq!(
            ok.headers.get("Contact"),
            Some("<sip:3000@127.0.0.1:5064>;expires=600")
        );
        assert_eq!(s.registrations(), 1);
        assert_eq!(s.contacts_of("3000", t0).len(), 1);
        assert_eq!(s.trunk_of_user("3000"), Some("phones"));

        // The same credentials after the nonce lifetime: stale, challenged again.
        s.handle_input(
            t0,
            wall + 400,
            phone(),
            &request("REGISTER", "3000", 4, &right),
        );
        let stale = &finals(&mut s)[0];
        assert_eq!(stale.status.0, 401);
        assert!(
            stale
                .headers
                .get("WWW-Authenticate")
                .is_some_and(|v| v.contains("stale=TRUE"))
        );
    }

    #[test]
    fn unknown_user_and_other_methods_get_standard_answers() {
        let (t0, wall) = (Instant::now(), 1_000_000);
        let mut s = service();
        let cases: [(&str, &str, u16); 5] = [
            ("REGISTER", "9999", 404),
            ("OPTIONS", "3000", 200),
            ("INVITE", "3000", 401),
            ("BYE", "3000", 481),
            ("FROB", "3000", 501),
        ];
        for (i, (method, user, status)) in cases.into_iter().enumerate() {
            s.handle_input(t0, wall, phone(), &request(method, user, 10 + i as u32, ""));
            let r = finals(&mut s);
            assert_eq!(r.len(), 1, "{method}");
            assert_eq!(r[0].status.0, status, "{method}");
        }
        s.set_draining(true);
        s.handle_input(t0, wall, phone(), &request("OPTIONS", "3000", 20, ""));
        assert_eq!(finals(&mut s)[0].status.0, 503);
    }

    #[test]
    fn unacknowledged_final_response_is_a_timer_h_timeout() {
        let (t0, wall) = (Instant::now(), 1_000_000);
        let mut s = service();
        s.handle_input(t0, wall, phone(), &request("INVITE", "3000", 30, ""));
        assert_eq!(finals(&mut s)[0].status.0, 401);
        // No ACK: Timer G retransmits, Timer H (64*T1) gives up.
        let mut notices = Vec::new();
        while let Some(t) = s.poll_timeout() {
            s.handle_timeout(t, wall);
            while let Some(o) = s.poll_output() {
                if let ServiceOutput::Notice(n) = o {
                    notices.push(n);
                }
            }
            if !notices.is_empty() {
                assert_eq!(t - t0, Duration::from_secs(32));
                break;
            }
        }
        assert_eq!(notices, [Notice::TransactionTimeout("H")]);
    }

    const CARRIER: &str = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"127.0.0.1:9464\"
trunks:
  - name: carrier
    kind: sip
    remote: \"127.0.0.9:5060\"
    register: { user: \"4930123\", expiry_seconds: 600 }
    auth: { user: acct, password: pw }
    options_ping_seconds: 30
";

    fn carrier() -> Peer {
        Peer::udp("127.0.0.9:5060".parse().expect("addr"))
    }

    /// What the service sent (requests, first transmissions and retransmissions) and
    /// the notices, in order.
    fn drain(s: &mut SipService) -> (Vec<Request>, Vec<Notice>) {
        let (mut sent, mut notices) = (Vec::new(), Vec::new());
        while let Some(o) = s.poll_output() {
            match o {
                ServiceOutput::Endpoint(Output::Transmit { bytes, peer, .. }) => {
                    if let Ok(SipMessage::Request(r)) = SipMessage::parse(&bytes) {
                        assert_eq!(peer, carrier());
                        sent.push(r);
                    }
                }
                ServiceOutput::Notice(n) => notices.push(n),
                _ => {}
            }
        }
        (sent, notices)
    }

    /// The carrier's answer to `req`, as bytes.
    fn answer(req: &Request, status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut r = Response::for_request(req, status, "").with_to_tag("kam");
        for (n, v) in extra {
            r.headers.push(n, v);
        }
        SipMessage::from(r).to_bytes()
    }

    fn registers(sent: &[Request]) -> Vec<&Request> {
        sent.iter()
            .filter(|r| r.method == Method::Register)
            .collect()
    }

    #[test]
    fn trunk_registration_answers_the_challenge_and_refreshes() {
        let (t0, wall) = (Instant::now(), 1_000_000);
        let cfg = Config::parse("t.yaml", CARRIER).expect("test config is valid");
        let mut s = SipService::new_at(&cfg, 1, [9; 32], t0);
        assert_eq!(
            s.poll_timeout(),
            Some(t0),
            "REGISTER and OPTIONS due at start"
        );
        s.handle_timeout(t0, wall);
        let (sent, notices) = drain(&mut s);
        assert_eq!(
            notices,
            [
                Notice::Registration {
                    trunk: "carrier".into(),
                    registered: false
                },
                Notice::TrunkState {
                    trunk: "carrier".into(),
                    up: true
                }
            ]
        );
        let options = sent
            .iter()
            .find(|r| r.method == Method::Options)
            .expect("a ping");
        let register = registers(&sent)[0].clone();
        assert_eq!(register.uri.to_string(), "sip:127.0.0.9");
        assert_eq!(
            register.headers.get("Contact"),
            Some("<sip:4930123@127.0.0.1:5060>")
        );
        assert_eq!(register.headers.get("Expires"), Some("600"));
        assert_eq!(
            s.registration_states().collect::<Vec<_>>(),
            [("carrier", RegistrationState::Registering)]
        );

        // The ping gets a 404: the carrier is alive all the same.
        s.handle_input(t0, wall, carrier(), &answer(options, 404, &[]));
        let challenge = Challenge {
            realm: "carrier.test".into(),
            nonce: "abc123".into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop: vec!["auth".into()],
            stale: false,
        };
        s.handle_input(
            t0,
            wall,
            carrier(),
            &answer(
                &register,
                401,
                &[("WWW-Authenticate", &challenge.to_header_value())],
            ),
        );
        let (sent, _) = drain(&mut s);
        let with_auth = registers(&sent)[0].clone();
        assert_eq!(with_auth.headers.call_id(), register.headers.call_id());
        assert_eq!(with_auth.headers.cseq().unwrap().unwrap().seq, 2);
        let auth = with_auth.headers.authorization().unwrap().remove(0);
        let params: Vec<(String, String)> = auth
            .params
            .iter()
            .map(|(n, raw)| (n.clone(), crate::sip::message::unquote(raw).into_owned()))
            .collect();
        let creds = Credentials::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .expect("complete credentials");
        let ha1 = digest::ha1(Algorithm::Md5, "acct", "carrier.test", "pw");
        let expected = digest::response_from_ha1(
            Algorithm::Md5,
            &ha1,
            "REGISTER",
            "sip:127.0.0.9",
            "abc123",
            Some(("auth", "00000001", creds.cnonce.as_deref().unwrap())),
        );
        assert_eq!(creds.response, expected);

        s.handle_input(
            t0,
            wall,
            carrier(),
            &answer(
                &with_auth,
                200,
                &[("Contact", "<sip:4930123@127.0.0.1:5060>;expires=600")],
            ),
        );
        let (_, notices) = drain(&mut s);
        assert_eq!(
            notices,
            [Notice::Registration {
                trunk: "carrier".into(),
                registered: true
            }]
        );
        let until = t0 + Duration::from_secs(600);
        assert_eq!(
            s.registration_states().collect::<Vec<_>>(),
            [("carrier", RegistrationState::Registered { until })]
        );
        assert!(s.trunk_up("carrier"));

        // Run the clock: pings every 30 s (answered), the refresh at half-time.
        let (mut refresh, mut last) = (None, t0);
        while let Some(t) = s.poll_timeout() {
            if t > t0 + Duration::from_secs(400) {
                break;
            }
            last = t;
            s.handle_timeout(t, wall);
            let (sent, notices) = drain(&mut s);
            assert!(notices.is_empty(), "{notices:?}");
            for r in &sent {
                match r.method {
                    Method::Options => s.handle_input(t, wall, carrier(), &answer(r, 200, &[])),
                    Method::Register => {
                        assert!(refresh.is_none(), "one refresh");
                        refresh = Some((t, r.clone()));
                        s.handle_input(t, wall, carrier(), &answer(r, 200, &[("Expires", "600")]));
                    }
                    _ => panic!("unexpected {}", r.method),
                }
            }
        }
        let (at, r) = refresh.expect("refreshed");
        assert_eq!(at - t0, Duration::from_secs(300));
        assert_eq!(r.headers.call_id(), register.headers.call_id());
        assert_eq!(r.headers.cseq().unwrap().unwrap().seq, 3);
        assert!(
            r.headers
                .get("Authorization")
                .is_some_and(|a| a.contains("nc=00000002") && a.contains("nonce=\"abc123\"")),
            "cached credentials, next nonce count"
        );

        // Draining removes the binding at once.
        let now = last + Duration::from_secs(1);
        s.set_draining_at(now, wall, true);
        assert!(s.poll_timeout().is_some_and(|t| t <= now));
        s.handle_timeout(now, wall);
        let (sent, _) = drain(&mut s);
        let un = registers(&sent)[0].clone();
        assert_eq!(un.headers.get("Expires"), Some("0"));
        s.handle_input(now, wall, carrier(), &answer(&un, 200, &[]));
        let (_, notices) = drain(&mut s);
        assert_eq!(
            notices,
            [Notice::Registration {
                trunk: "carrier".into(),
                registered: false
            }]
        );
    }

    #[test]
    fn trunk_removed_by_reconfigure_is_unregistered_and_pings_decide_up() {
        let (t0, wall) = (Instant::now(), 1_000_000);
        let cfg = Config::parse("t.yaml", CARRIER).expect("test config is valid");
        let mut s = SipService::new_at(&cfg, 1, [9; 32], t0);
        s.handle_timeout(t0, wall);
        let (sent, _) = drain(&mut s);
        let register = registers(&sent)[0].clone();
        s.handle_input(
            t0,
            wall,
            carrier(),
            &answer(&register, 200, &[("Expires", "600")]),
        );
        drain(&mut s);
        // The pings go unanswered: two Timer F timeouts mark the trunk down.
        let mut downs = Vec::new();
        while let Some(t) = s.poll_timeout() {
            if t > t0 + Duration::from_secs(70) {
                break;
            }
            s.handle_timeout(t, wall);
            let (_, notices) = drain(&mut s);
            downs.extend(
                notices.into_iter().filter(|n| {
                    matches!(n, Notice::TrunkState { .. } | Notice::TrunkRemote { .. })
                }),
            );
        }
        assert_eq!(
            downs,
            [
                Notice::TrunkRemote {
                    trunk: "carrier".into(),
                    remote: "127.0.0.9:5060".parse().unwrap(),
                    up: false
                },
                Notice::TrunkState {
                    trunk: "carrier".into(),
                    up: false
                }
            ]
        );
        assert!(!s.trunk_up("carrier"));
        assert!(s.up_remotes("carrier").is_empty());

        let now = t0 + Duration::from_secs(70);
        let empty = Config::parse("t.yaml", CONFIG).expect("test config is valid");
        s.reconfigure_at(now, wall, &empty);
        assert!(s.poll_timeout().is_some_and(|t| t <= now));
        s.handle_timeout(now, wall);
        let (sent, notices) = drain(&mut s);
        assert!(notices.contains(&Notice::TrunkRemoved {
            trunk: "carrier".into()
        }));
        let un = registers(&sent)[0];
        assert_eq!(un.headers.get("Expires"), Some("0"));
        assert_eq!(un.headers.call_id(), register.headers.call_id());
        assert_eq!(s.registration_states().count(), 0);
        assert!(s.trunk_up("carrier"), "unknown trunks are up");
    }
}
