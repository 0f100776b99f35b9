//! The SIP endpoint: one sans-IO object that parses what the transports deliver, matches
//! it to transactions (RFC 3261 §17.1.3, §17.2.3), answers what the transaction layer
//! answers by itself (100 Trying, retransmissions, 200 to CANCEL, 400, 482), and hands
//! the rest to the transaction user as [`Event`]s. DESIGN.md practice 4: one endpoint
//! demultiplexes; calls are reached by message.
//!
//! ```text
//!   shell --handle_input(now, peer, bytes)--> Endpoint --poll_output()--> Transmit / Event
//!   TU    --send_request / send_response / cancel / send_ack--> Endpoint
//!   shell --poll_timeout() / handle_timeout(now)--> Endpoint
//! ```

mod ids;
mod peer;
mod tx_message;

#[cfg(test)]
mod tests;

pub use ids::IdGenerator;
pub use peer::{ConnectionId, Peer, Transport};
pub use tx_message::ack_for;

use crate::sip::message::{
    Host, Limits, MAGIC_COOKIE, Method, ParseError, Request, Response, SipMessage, Via,
};
use crate::sip::transaction::{
    ClientInvite, ClientNonInvite, ServerInvite, ServerNonInvite, Timer, TimerConfig, TxOutput,
};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

/// A server transaction, as the TU names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(pub u64);

/// A client transaction, as the TU names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(pub u64);

/// What the endpoint tells its transaction user.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new request (not ACK, not a CANCEL of a known INVITE). The TU answers it with
    /// [`Endpoint::send_response`]; an INVITE has had its 100 Trying already.
    Request {
        /// The server transaction to answer on.
        tx: ServerTxId,
        /// The request, top Via stamped with `received`/`rport` (§18.2.1, RFC 3581).
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A CANCEL matched the INVITE of `tx`; the CANCEL itself has been answered 200
    /// (§9.2). The TU should answer the INVITE with 487 unless it already sent a final.
    Cancelled {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
    /// An ACK that matched no server transaction: the ACK of a 2xx (§17.2.3, §13.3.1.4),
    /// for the dialog layer.
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A response to a request the TU sent.
    Response {
        /// The client transaction.
        tx: ClientTxId,
        /// The response.
        response: Response,
    },
    /// A 2xx to an INVITE that matched no client transaction: a retransmission the
    /// dialog layer must ACK again (§13.2.2.4), or a 2xx from a second fork.
    Stray2xx {
        /// The response.
        response: Response,
        /// Where it came from.
        peer: Peer,
    },
    /// A client transaction failed: Timer B/F (no answer) or a transport error. For the
    /// TU this is a 408 or 503 (§8.1.3.1).
    ClientFailed {
        /// The transaction.
        tx: ClientTxId,
        /// Timer B or F, or `None` for a transport error.
        timer: Option<Timer>,
    },
    /// A server INVITE transaction's final response was never ACKed (Timer H).
    ServerFailed {
        /// The transaction.
        tx: ServerTxId,
    },
}

/// What the endpoint asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send `bytes` to `peer`.
    Transmit {
        /// Destination (with its connection for streams).
        peer: Peer,
        /// The encoded message.
        bytes: Vec<u8>,
        /// A label for metrics: the method, or the status code (`486`).
        label: String,
    },
    /// A message was received (label as above), for metrics.
    Received {
        /// Method or status class.
        label: String,
    },
    /// Input that could not be decoded, for metrics and a debug log.
    DecodeError {
        /// Where it came from.
        peer: Peer,
        /// Why.
        error: ParseError,
    },
    /// The `Transmit` just before was a retransmission (a timer's, or the answer to a
    /// retransmitted request), for metrics.
    Retransmitted {
        /// Method or status class.
        label: String,
    },
    /// An event for the transaction user.
    Event(Event),
}

/// Settings of the endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// T1, T2, T4.
    pub timers: TimerConfig,
    /// Parser limits.
    pub limits: Limits,
    /// Our sent-by per transport (the address the Via of our requests names).
    pub sent_by: HashMap<Transport, SocketAddr>,
    /// Server and User-Agent header value.
    pub user_agent: String,
}

/// Server transaction key (§17.2.3): branch, sent-by and method (ACK counts as INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ServerKey {
    branch: String,
    sent_by: String,
    invite: bool,
    cancel: bool,
}

/// Client transaction key (§17.1.3): branch and CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    branch: String,
    method: Method,
}

enum ServerMachine {
    Invite(ServerInvite<SipMessage>),
    NonInvite(ServerNonInvite<SipMessage>),
}

struct ServerEntry {
    key: ServerKey,
    peer: Peer,
    machine: ServerMachine,
    /// For INVITE: has a final response gone out (CANCEL then does nothing, §9.2)?
    final_sent: bool,
    /// For merged-request detection (§8.2.2.2): From tag, Call-ID, CSeq.
    merge_key: Option<(String, String, u32)>,
}

enum ClientMachine {
    Invite(Box<ClientInvite<SipMessage>>),
    NonInvite(Box<ClientNonInvite<SipMessage>>),
}

impl ServerMachine {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ServerMachine::Invite(m) => m.poll_timeout(),
            ServerMachine::NonInvite(m) => m.poll_timeout(),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            ServerMachine::Invite(m) => m.handle_timeout(now),
            ServerMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }

    fn poll_output(&mut self) -> Option<TxOutput<SipMessage>> {
        match self {
            ServerMachine::Invite(m) => m.poll_output(),
            ServerMachine::NonInvite(m) => m.poll_output(),
        }
    }
}

impl ClientMachine {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ClientMachine::Invite(m) => m.poll_timeout(),
            ClientMachine::NonInvite(m) => m.poll_timeout(),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            ClientMachine::Invite(m) => m.handle_timeout(now),
            ClientMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }

    fn poll_output(&mut self) -> Option<TxOutput<SipMessage>> {
        match self {
            ClientMachine::Invite(m) => m.poll_output(),
            ClientMachine::NonInvite(m) => m.poll_output(),
        }
    }
}

struct ClientEntry {
    key: ClientKey,
    peer: Peer,
    machine: ClientMachine,
    /// The request as sent (for CANCEL, §9.1).
    request: Request,
    /// A provisional response has arrived (a CANCEL may go out, §9.1).
    provisional: bool,
    /// CANCEL asked for before any provisional: send it when one arrives.
    cancel_pending: bool,
    /// The Reason header value for the CANCEL (RFC 3326), if any.
    cancel_reason: Option<String>,
}

/// A transaction of either kind, for the deadline index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TxRef {
    Server(ServerTxId),
    Client(ClientTxId),
}

/// The SIP endpoint.
pub struct Endpoint {
    cfg: EndpointConfig,
    ids: IdGenerator,
    next_id: u64,
    servers: HashMap<ServerTxId, ServerEntry>,
    server_keys: HashMap<ServerKey, ServerTxId>,
    clients: HashMap<ClientTxId, ClientEntry>,
    client_keys: HashMap<ClientKey, ClientTxId>,
    out: VecDeque<Output>,
    /// Every live transaction's next deadline, earliest first: a transaction lingers
    /// 32 s in Timer J/K/L after its last message (RFC 3261 §17, RFC 6026), so at a few
    /// hundred calls per second tens of thousands are live, and the next deadline must
    /// not cost a scan of them all. Updated whenever a transaction is drained.
    deadlines: std::collections::BTreeSet<(Instant, TxRef)>,
    deadline_of: HashMap<TxRef, Instant>,
}

impl Endpoint {
    /// A new endpoint; `seed` feeds branch and tag generation (the shell gives OS
    /// randomness, tests a fixed value).
    pub fn new(cfg: EndpointConfig, seed: u64) -> Endpoint {
        Endpoint {
            cfg,
            ids: IdGenerator::new(seed),
            next_id: 1,
            servers: HashMap::new(),
            server_keys: HashMap::new(),
            clients: HashMap::new(),
            client_keys: HashMap::new(),
            out: VecDeque::new(),
            deadlines: std::collections::BTreeSet::new(),
            deadline_of: HashMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// Fresh random identifiers (tags, Call-IDs) from the endpoint's generator.
    pub fn ids(&mut self) -> &mut IdGenerator {
        &mut self.ids
    }

    /// Live transactions (server, client), for metrics and tests.
    pub fn transaction_count(&self) -> (usize, usize) {
        (self.servers.len(), self.clients.len())
    }

    /// Replaces the timers (after a reload).
    pub fn set_timers(&mut self, timers: TimerConfig) {
        self.cfg.timers = timers;
    }

    // ----- input ------------------------------------------------------------------

    /// One message from a transport (a datagram, or one framed stream message).
    pub fn handle_input(&mut self, now: Instant, peer: Peer, bytes: &[u8]) {
        let msg = match SipMessage::parse_with(bytes, &self.cfg.limits) {
            Ok(m) => m,
            Err(error) => {
                // Nothing readable to address a response to: count and drop.
                self.out.push_back(Output::DecodeError { peer, error });
                return;
            }
        };
        if let Err(error) = msg.validate() {
            self.bad_input(peer, &msg, error);
            return;
        }
        match msg {
            SipMessage::Request(req) => {
                self.out.push_back(Output::Received {
                    label: req.method.to_string(),
                });
                self.handle_request(now, peer, req);
            }
            SipMessage::Response(resp) => {
                self.out.push_back(Output::Received {
                    label: resp.status.0.to_string(),
                });
                self.handle_response(now, peer, resp);
            }
        }
    }

    /// A message that parsed but failed validation: a request gets the parser's status
    /// (400, 505, 413 ...) when its Via is readable (§21.4.1); anything else is dropped.
    fn bad_input(&mut self, peer: Peer, msg: &SipMessage, error: ParseError) {
        let status = error.status();
        let reason = error.reason_phrase();
        self.out.push_back(Output::DecodeError { peer, error });
        // §21.4.1: a request gets the status; a response (§18.1.2) and ACK get nothing.
        let SipMessage::Request(req) = msg else {
            return;
        };
        if req.method == Method::Ack || req.headers.top_via().ok().flatten().is_none() {
            return;
        }
        let resp = Response::for_request(req, status, &reason);
        self.transmit_response(peer, &resp);
    }

    fn handle_request(&mut self, now: Instant, peer: Peer, mut req: Request) {
        let Ok(Some(mut top)) = req.headers.top_via() else {
            return; // validate() guarantees a Via; nothing to answer to otherwise.
        };
        // §18.2.1 and RFC 3581 §4: record where the request really came from.
        let ip = peer.addr.ip().to_string();
        let rport = top.rport().is_some().then_some(peer.addr.port());
        if top.host.to_string() != ip || rport.is_some() {
            top.set_received(&ip, rport);
            replace_top_via(&mut req, &top);
        }
        let key = server_key(&req, &top);
        match req.method {
            Method::Ack => {
                let invite_key = ServerKey {
                    invite: true,
                    cancel: false,
                    ..key
                };
                match self.server_keys.get(&invite_key).copied() {
                    Some(id) => {
                        if let Some(ServerEntry {
                            machine: ServerMachine::Invite(m),
                            ..
                        }) = self.servers.get_mut(&id)
                        {
                            m.handle_ack(now);
                        }
                        self.drain_server(id);
                    }
                    None => self.event(Event::Ack { request: req, peer }),
                }
            }
            Method::Cancel => self.handle_cancel(now, peer, req, key),
            _ => {
                if let Some(id) = self.server_keys.get(&key).copied() {
                    // §17.2.1/§17.2.2: a retransmission.
                    let from = self.out.len();
                    if let Some(e) = self.servers.get_mut(&id) {
                        match &mut e.machine {
                            ServerMachine::Invite(m) => m.handle_request_retransmission(now),
                            ServerMachine::NonInvite(m) => m.handle_request_retransmission(now),
                        }
                    }
                    self.drain_server(id);
                    self.mark_retransmissions(from);
                    return;
                }
                if let Some(merge) = merge_key(&req)
                    && self
                        .servers
                        .values()
                        .any(|e| e.merge_key.as_ref() == Some(&merge))
                {
                    // §8.2.2.2: same request arriving by another path.
                    let resp = Response::for_request(&req, 482, "Loop Detected");
                    self.transmit_response(peer, &resp);
                    return;
                }
                let id = self.new_server(now, peer, &req, key);
                self.event(Event::Request {
                    tx: id,
                    request: req,
                    peer,
                });
                self.drain_server(id);
            }
        }
    }

    fn handle_cancel(&mut self, now: Instant, peer: Peer, req: Request, key: ServerKey) {
        // A retransmitted CANCEL is answered by its own transaction.
        if let Some(id) = self.server_keys.get(&key).copied() {
            if let Some(ServerEntry {
                machine: ServerMachine::NonInvite(m),
                ..
            }) = self.servers.get_mut(&id)
            {
                m.handle_request_retransmission(now);
            }
            self.drain_server(id);
            return;
        }
        let invite_key = ServerKey {
            invite: true,
            cancel: false,
            ..key.clone()
        };
        let target = self.server_keys.get(&invite_key).copied();
        let cancel_id = self.new_server(now, peer, &req, key);
        let (status, reason) = if target.is_some() {
            (200, "OK")
        } else {
            // §9.2: no matching transaction.
            (481, "Call/Transaction Does Not Exist")
        };
        let resp = Response::for_request(&req, status, reason).with_to_tag(&self.ids.tag());
        self.respond(now, cancel_id, resp);
        if let Some(target) = target
            && self.servers.get(&target).is_some_and(|e| !e.final_sent)
        {
            self.event(Event::Cancelled { tx: target });
        }
    }

    fn handle_response(&mut self, now: Instant, peer: Peer, resp: Response) {
        let Ok(Some(top)) = resp.headers.top_via() else {
            return;
        };
        let Ok(Some(cseq)) = resp.headers.cseq() else {
            return;
        };
        let key = ClientKey {
            branch: top.branch().unwrap_or_default().to_owned(),
            method: cseq.method.clone(),
        };
        let Some(id) = self.client_keys.get(&key).copied() else {
            if cseq.method == Method::Invite && resp.status.is_success() {
                self.event(Event::Stray2xx {
                    response: resp,
                    peer,
                });
            }
            return; // §18.1.2: a response matching nothing is discarded.
        };
        let status = resp.status.0;
        let mut send_cancel = false;
        if let Some(e) = self.clients.get_mut(&id) {
            if status < 200 && !e.provisional {
                e.provisional = true;
                send_cancel = e.cancel_pending;
            }
            match &mut e.machine {
                ClientMachine::Invite(m) => m.handle_response(now, status, resp.into()),
                ClientMachine::NonInvite(m) => m.handle_response(now, status, resp.into()),
            }
        }
        self.drain_client(id);
        if send_cancel {
            self.cancel(now, id);
        }
    }

    // ----- the transaction user's calls ----------------------------------------------

    /// Sends a request in a new client transaction: a top Via with our sent-by, `rport`
    /// and a fresh branch is added (§8.1.1.7). ACK for a 2xx goes through
    /// [`Endpoint::send_ack`] instead.
    pub fn send_request(&mut self, now: Instant, mut req: Request, peer: Peer) -> ClientTxId {
        let branch = format!("{MAGIC_COOKIE}{}", self.ids.token(16));
        let via = self.our_via(peer.transport, &branch);
        req.headers.insert(0, "Via", &via.to_string());
        if !req.headers.contains("User-Agent") {
            req.headers.push("User-Agent", &self.cfg.user_agent.clone());
        }
        let id = ClientTxId(self.bump());
        let key = ClientKey {
            branch,
            method: req.method.clone(),
        };
        let reliability = peer.transport.reliability();
        let msg: SipMessage = req.clone().into();
        let machine = if req.method == Method::Invite {
            ClientMachine::Invite(Box::new(ClientInvite::new(
                now,
                msg,
                reliability,
                self.cfg.timers,
            )))
        } else {
            ClientMachine::NonInvite(Box::new(ClientNonInvite::new(
                now,
                msg,
                reliability,
                self.cfg.timers,
            )))
        };
        self.client_keys.insert(key.clone(), id);
        self.clients.insert(
            id,
            ClientEntry {
                key,
                peer,
                machine,
                request: req,
                provisional: false,
                cancel_pending: false,
                cancel_reason: None,
            },
        );
        self.drain_client(id);
        id
    }

    /// Sends a response on a server transaction. Responses after the final one are
    /// ignored, except 2xx retransmissions of an INVITE (RFC 6026 Accepted).
    pub fn send_response(&mut self, now: Instant, tx: ServerTxId, mut resp: Response) {
        if !resp.headers.contains("Server") {
            resp.headers.push("Server", &self.cfg.user_agent.clone());
        }
        self.respond(now, tx, resp);
    }

    fn respond(&mut self, now: Instant, tx: ServerTxId, resp: Response) {
        let status = resp.status.0;
        let Some(e) = self.servers.get_mut(&tx) else {
            return;
        };
        if status >= 200 {
            e.final_sent = true;
        }
        match &mut e.machine {
            ServerMachine::Invite(m) => m.send_response(now, status, resp.into()),
            ServerMachine::NonInvite(m) => m.send_response(now, status, resp.into()),
        }
        self.drain_server(tx);
    }

    /// Sends a response again on behalf of the transaction user (the 2xx until its ACK,
    /// RFC 3261 §13.3.1.4; a reliable provisional until its PRACK, RFC 3262 §3), counted
    /// as a retransmission.
    pub fn retransmit_response(&mut self, now: Instant, tx: ServerTxId, resp: Response) {
        let from = self.out.len();
        self.respond(now, tx, resp);
        self.mark_retransmissions(from);
    }

    /// Answers a request that the transport could not take (e.g. no Content-Length on a
    /// stream, RFC 3261 §18.3) with `status`, when its head is readable; counts it as a
    /// decode error.
    pub fn reject(&mut self, peer: Peer, head: &[u8], status: u16, reason: &str) {
        self.out.push_back(Output::DecodeError {
            peer,
            error: ParseError::new(crate::sip::message::ErrorKind::ContentLength, reason),
        });
        if let Ok(SipMessage::Request(req)) = SipMessage::parse_with(head, &self.cfg.limits)
            && req.method != Method::Ack
        {
            let resp = Response::for_request(&req, status, reason);
            self.transmit_response(peer, &resp);
        }
    }

    /// Sends a response statelessly (no transaction), e.g. a 481 to an ACK-less request
    /// or a response to a request the TU handles statelessly.
    pub fn send_stateless(&mut self, peer: Peer, resp: &Response) {
        self.transmit_response(peer, resp);
    }

    /// Sends an ACK for a 2xx (§13.2.2.4): outside any transaction, with a new branch;
    /// the caller keeps it to answer 2xx retransmissions ([`Event::Stray2xx`]) with
    /// [`Endpoint::resend`].
    pub fn send_ack(&mut self, mut ack: Request, peer: Peer) -> Vec<u8> {
        let branch = format!("{MAGIC_COOKIE}{}", self.ids.token(16));
        let via = self.our_via(peer.transport, &branch);
        ack.headers.insert(0, "Via", &via.to_string());
        let bytes = SipMessage::Request(ack).to_bytes();
        self.resend(peer, bytes.clone(), "ACK");
        bytes
    }

    /// Transmits already encoded bytes again (a kept ACK).
    pub fn resend(&mut self, peer: Peer, bytes: Vec<u8>, label: &str) {
        self.out.push_back(Output::Transmit {
            peer,
            bytes,
            label: label.to_owned(),
        });
    }

    /// Cancels an INVITE client transaction (§9.1) with a Reason header (RFC 3326): the
    /// CANCEL goes out once a provisional response has arrived, at once if one has.
    pub fn cancel_with_reason(&mut self, now: Instant, tx: ClientTxId, reason: &str) {
        if let Some(e) = self.clients.get_mut(&tx) {
            e.cancel_reason = Some(reason.to_owned());
        }
        self.cancel(now, tx);
    }

    /// Cancels an INVITE client transaction (§9.1) without a Reason header.
    pub fn cancel(&mut self, now: Instant, tx: ClientTxId) {
        let Some(e) = self.clients.get_mut(&tx) else {
            return;
        };
        if !matches!(e.machine, ClientMachine::Invite(_)) {
            return;
        }
        if !e.provisional {
            e.cancel_pending = true;
            return;
        }
        e.cancel_pending = false;
        let mut cancel = cancel_for(&e.request);
        if let Some(reason) = &e.cancel_reason {
            // RFC 3326 §2: why the call was cancelled.
            cancel
                .headers
                .insert(cancel.headers.len() - 1, "Reason", reason);
        }
        let peer = e.peer;
        let branch = e.key.branch.clone();
        let id = ClientTxId(self.bump());
        let key = ClientKey {
            branch,
            method: Method::Cancel,
        };
        let machine = ClientMachine::NonInvite(Box::new(ClientNonInvite::new(
            now,
            cancel.clone().into(),
            peer.transport.reliability(),
            self.cfg.timers,
        )));
        self.client_keys.insert(key.clone(), id);
        self.clients.insert(
            id,
            ClientEntry {
                key,
                peer,
                machine,
                request: cancel,
                provisional: false,
                cancel_pending: false,
                cancel_reason: None,
            },
        );
        self.drain_client(id);
    }

    /// The transport could not deliver to `peer` (connection refused or lost): every
    /// transaction toward it fails (§17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, now: Instant, peer: Peer) {
        let clients: Vec<ClientTxId> = self
            .clients
            .iter()
            .filter(|(_, e)| e.peer.addr == peer.addr && e.peer.transport == peer.transport)
            .map(|(id, _)| *id)
            .collect();
        for id in clients {
            if let Some(e) = self.clients.get_mut(&id) {
                match &mut e.machine {
                    ClientMachine::Invite(m) => m.handle_transport_error(now),
                    ClientMachine::NonInvite(m) => m.handle_transport_error(now),
                }
            }
            self.drain_client(id);
        }
    }

    // ----- time ------------------------------------------------------------------

    /// The earliest deadline of any transaction.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// The earliest deadline by asking every transaction (what the index must agree
    /// with; tests only).
    #[cfg(test)]
    pub(crate) fn poll_timeout_by_scan(&self) -> Option<Instant> {
        let servers = self
            .servers
            .values()
            .filter_map(|e| e.machine.poll_timeout());
        let clients = self
            .clients
            .values()
            .filter_map(|e| e.machine.poll_timeout());
        servers.chain(clients).min()
    }

    /// Puts a transaction's next deadline (or its absence) into the index.
    fn reindex(&mut self, r: TxRef) {
        let next = match r {
            TxRef::Server(id) => self.servers.get(&id).and_then(|e| e.machine.poll_timeout()),
            TxRef::Client(id) => self.clients.get(&id).and_then(|e| e.machine.poll_timeout()),
        };
        if let Some(old) = self.deadline_of.remove(&r) {
            self.deadlines.remove(&(old, r));
        }
        if let Some(t) = next {
            self.deadlines.insert((t, r));
            self.deadline_of.insert(r, t);
        }
    }

    /// Fires every transaction timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let from = self.out.len();
        self.fire_timers(now);
        // Whatever a timer sends is a retransmission (Timers A, E, G).
        self.mark_retransmissions(from);
    }

    /// Marks each `Transmit` queued since `from` as a retransmission.
    fn mark_retransmissions(&mut self, from: usize) {
        let labels: Vec<String> = self
            .out
            .iter()
            .skip(from)
            .filter_map(|o| match o {
                Output::Transmit { label, .. } => Some(label.clone()),
                _ => None,
            })
            .collect();
        for label in labels {
            self.out.push_back(Output::Retransmitted { label });
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        let mut due: Vec<TxRef> = self
            .deadlines
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, r)| *r)
            .collect();
        // Servers first, then clients, each in creation order (`TxRef`'s order).
        due.sort();
        for r in due {
            match r {
                TxRef::Server(id) => {
                    if let Some(e) = self.servers.get_mut(&id) {
                        e.machine.handle_timeout(now);
                    }
                    self.drain_server(id);
                }
                TxRef::Client(id) => {
                    if let Some(e) = self.clients.get_mut(&id) {
                        e.machine.handle_timeout(now);
                    }
                    self.drain_client(id);
                }
            }
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    // ----- internals ---------------------------------------------------------------

    fn bump(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn our_via(&self, transport: Transport, branch: &str) -> Via {
        let addr = self
            .cfg
            .sent_by
            .get(&transport)
            .or_else(|| self.cfg.sent_by.values().next())
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)));
        let host = match addr.ip() {
            std::net::IpAddr::V4(v4) => Host::Ipv4(v4),
            std::net::IpAddr::V6(v6) => Host::Ipv6(v6.to_string()),
        };
        let mut via = Via::new(transport.via_token(), host, Some(addr.port()), branch);
        via.params.set("rport", None);
        via
    }

    fn new_server(
        &mut self,
        now: Instant,
        peer: Peer,
        req: &Request,
        key: ServerKey,
    ) -> ServerTxId {
        let id = ServerTxId(self.bump());
        let reliability = peer.transport.reliability();
        let machine = if req.method == Method::Invite {
            ServerMachine::Invite(ServerInvite::new(
                now,
                &SipMessage::Request(req.clone()),
                reliability,
                self.cfg.timers,
            ))
        } else {
            ServerMachine::NonInvite(ServerNonInvite::new(now, reliability, self.cfg.timers))
        };
        self.server_keys.insert(key.clone(), id);
        self.servers.insert(
            id,
            ServerEntry {
                key,
                peer,
                machine,
                final_sent: false,
                merge_key: merge_key(req),
            },
        );
        self.reindex(TxRef::Server(id));
        id
    }

    fn drain_server(&mut self, id: ServerTxId) {
        let Some(e) = self.servers.get_mut(&id) else {
            return;
        };
        let peer = e.peer;
        let outs: Vec<_> = std::iter::from_fn(|| e.machine.poll_output()).collect();
        let mut terminated = false;
        for o in outs {
            match o {
                TxOutput::Transmit(SipMessage::Response(r)) => self.transmit_response(peer, &r),
                TxOutput::Transmit(SipMessage::Request(_)) | TxOutput::Response(_) => {}
                TxOutput::Timeout(_) | TxOutput::TransportError => {
                    self.event(Event::ServerFailed { tx: id })
                }
                TxOutput::Terminated => terminated = true,
            }
        }
        if terminated && let Some(e) = self.servers.remove(&id) {
            self.server_keys.remove(&e.key);
        }
        self.reindex(TxRef::Server(id));
    }

    fn drain_client(&mut self, id: ClientTxId) {
        let Some(e) = self.clients.get_mut(&id) else {
            return;
        };
        let peer = e.peer;
        let outs: Vec<_> = std::iter::from_fn(|| e.machine.poll_output()).collect();
        let mut terminated = false;
        for o in outs {
            match o {
                TxOutput::Transmit(msg) => {
                    let label = match &msg {
                        SipMessage::Request(r) => r.method.to_string(),
                        SipMessage::Response(r) => r.status.0.to_string(),
                    };
                    self.out.push_back(Output::Transmit {
                        peer,
                        bytes: msg.to_bytes(),
                        label,
                    });
                }
                TxOutput::Response(SipMessage::Response(response)) => {
                    self.event(Event::Response { tx: id, response })
                }
                TxOutput::Response(SipMessage::Request(_)) => {}
                TxOutput::Timeout(t) => self.event(Event::ClientFailed {
                    tx: id,
                    timer: Some(t),
                }),
                TxOutput::TransportError => self.event(Event::ClientFailed {
                    tx: id,
                    timer: None,
                }),
                TxOutput::Terminated => terminated = true,
            }
        }
        if terminated && let Some(e) = self.clients.remove(&id) {
            self.client_keys.remove(&e.key);
        }
        self.reindex(TxRef::Client(id));
    }

    /// Sends a response where §18.2.2 says: over the request's connection for streams;
    /// for UDP to `received` and `rport` of the top Via (RFC 3581 §4), else to the
    /// sent-by.
    fn transmit_response(&mut self, peer: Peer, resp: &Response) {
        let dest = match peer.transport {
            Transport::Tcp | Transport::Tls => peer,
            Transport::Udp => response_destination(resp).map_or(peer, Peer::udp),
        };
        self.out.push_back(Output::Transmit {
            peer: dest,
            bytes: SipMessage::Response(resp.clone()).to_bytes(),
            label: resp.status.0.to_string(),
        });
    }
}

/// RFC 3261 §18.2.2 / RFC 3581 §4: `received` (else the sent-by host) and `rport` (else
/// the sent-by port, else 5060).
fn response_destination(resp: &Response) -> Option<SocketAddr> {
    let via = resp.headers.top_via().ok().flatten()?;
    let ip = match via.received() {
        Some(r) => r.parse().ok()?,
        None => match &via.host {
            Host::Ipv4(v4) => std::net::IpAddr::V4(*v4),
            Host::Ipv6(v6) => v6.parse().ok()?,
            // A name would need DNS (RFC 3263); only addresses are sent to directly.
            Host::Name(_) => return None,
        },
    };
    let port = match via.rport() {
        Some(Some(p)) => p,
        _ => via.port.unwrap_or(5060),
    };
    Some(SocketAddr::new(ip, port))
}

fn server_key(req: &Request, top: &Via) -> ServerKey {
    let sent_by = format!("{}:{}", top.host, top.port.unwrap_or(5060));
    let branch = match top.branch() {
        Some(b) if b.starts_with(MAGIC_COOKIE) => b.to_owned(),
        // RFC 2543 peers (§17.2.3, simplified): Call-ID, CSeq number and From tag.
        other => {
            let cseq = req.headers.cseq().ok().flatten().map_or(0, |c| c.seq);
            let from_tag = req
                .headers
                .from()
                .ok()
                .flatten()
                .and_then(|f| f.tag().map(str::to_owned))
                .unwrap_or_default();
            format!(
                "2543;{};{};{};{}",
                other.unwrap_or_default(),
                req.headers.call_id().unwrap_or_default(),
                cseq,
                from_tag
            )
        }
    };
    ServerKey {
        branch,
        sent_by,
        invite: matches!(req.method, Method::Invite | Method::Ack),
        cancel: req.method == Method::Cancel,
    }
}

/// §8.2.2.2: (From tag, Call-ID, CSeq) of an out-of-dialog request.
fn merge_key(req: &Request) -> Option<(String, String, u32)> {
    let to = req.headers.to().ok().flatten()?;
    if to.tag().is_some() {
        return None;
    }
    let from_tag = req.headers.from().ok().flatten()?.tag()?.to_owned();
    let call_id = req.headers.call_id()?.to_owned();
    let cseq = req.headers.cseq().ok().flatten()?.seq;
    Some((from_tag, call_id, cseq))
}

fn replace_top_via(req: &mut Request, top: &Via) {
    let Some(i) = req.headers.position("Via") else {
        return;
    };
    let Some((_, value)) = req.headers.at(i) else {
        return;
    };
    let rest: Vec<String> = crate::sip::message::split_list(value)
        .skip(1)
        .map(str::to_owned)
        .collect();
    let mut line = top.to_string();
    for r in rest {
        line.push_str(", ");
        line.push_str(&r);
    }
    req.headers.set_at(i, &line);
}

/// The CANCEL for an INVITE (§9.1): same Request-URI, Call-ID, To, From, CSeq number
/// and top Via; Route copied; method CANCEL.
fn cancel_for(invite: &Request) -> Request {
    let mut c = Request::new(Method::Cancel, invite.uri.clone());
    for (name, value) in invite.headers.iter() {
        if crate::sip::message::names_match(name, "Via") {
            let top = crate::sip::message::split_list(value)
                .next()
                .unwrap_or(value);
            c.headers.push(name, top);
            break;
        }
    }
    for v in invite.headers.get_all("Route") {
        c.headers.push("Route", v);
    }
    c.headers.push("Max-Forwards", "70");
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = invite.headers.get(name) {
            c.headers.push(name, v);
        }
    }
    if let Ok(Some(cseq)) = invite.headers.cseq() {
        c.headers.push("CSeq", &format!("{} CANCEL", cseq.seq));
    }
    c.headers.push("Content-Length", "0");
    c
}
