//! SIP call legs: the B2BUA's user-agent halves (RFC 3261 §12–§15). Each leg is one
//! INVITE dialog, incoming (we are the UAS) or outgoing (we are the UAC), translated to
//! and from the neutral call model ([`mapping::model::CallEvent`]) with the pure tables
//! of `mapping::sip::messages`. The call core sees only those events.
//!
//! Sans-IO: every method takes `now` and the [`Endpoint`] the leg's messages go through.
//!
//! What a leg does on its own, without the call core:
//! - UAS: retransmits its 2xx until the ACK (§13.3.1.4), answers 487 after CANCEL (§9.2),
//!   answers in-dialog BYE, INFO, OPTIONS, and re-INVITE/UPDATE with its current SDP
//!   (media stays anchored at the gateway, so the other leg need not know);
//! - UAC: ACKs every 2xx, retransmitted ones too (§13.2.2.4); CANCELs before answer and
//!   BYEs after (§15); ACK + BYE for a 2xx that arrives after our CANCEL;
//!   answers 401/407 once with the trunk's credentials (§22.2, RFC 7616);
//! - both: RFC 3262 reliable provisionals (module [`crate::sip::reliable`]): a UAS leg
//!   whose caller supports `100rel` sends 180/183 reliably and answers PRACK; a UAC leg
//!   PRACKs reliable provisionals in order;
//! - both: RFC 4028 session timers (module [`crate::sip::session_timer`]), per leg: the
//!   refresher side refreshes at half the interval (UPDATE when the peer allows it, else
//!   a re-INVITE with the current SDP), the other side sends BYE and reports a release
//!   with cause 102 when no refresh came before the interval minus min(32 s, 1/3);
//! - both: re-INVITE glare (§14.1): a peer's re-INVITE that crosses our refresh gets
//!   491; a 491 to ours is retried after 2.1-4 s (we own the Call-ID) or 0-2 s.

use crate::sip::dialog::{Dialog, DialogError};
use crate::sip::digest::{self, Challenge};
use crate::sip::endpoint::{ClientTxId, Endpoint, Peer, ServerTxId, Transport};
use crate::sip::message::{CSeq, Method, NameAddr, RAck, Request, Response, SipMessage, Uri};
use crate::sip::reliable::{self, ReliableUac, ReliableUas, UacVerdict, UasOutput};
use crate::sip::sdp::{Origin, SessionDescription};
use crate::sip::session_timer::{self, Due, Policy, SessionTimer};
use crate::sip::transaction::{Retransmit2xx, Timer, TxOutput};
use mapping::cause::{Cause, Q850Cause};
use mapping::model::{
    CallEvent, Initiator, Media, MediaDirection, MediaExchange, Progress, Release,
};
use mapping::sip::messages::{
    InviteResponseIn, invite_response_to_event, release_for_request, status_for_release,
};
use mapping::sip::reason::ReasonValue;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The extensions we support: the Supported header of our INVITEs, 2xx and OPTIONS.
pub const SUPPORTED: &str = "100rel, timer, replaces";

/// The option tags a request may require of us (RFC 3261 §8.2.2.3).
const REQUIRE_OK: [&str; 3] = [reliable::OPTION_TAG, session_timer::OPTION_TAG, "replaces"];

/// The option tags of a request's Require that we do not support (for a 420 with
/// Unsupported, RFC 3261 §8.2.2.3).
pub fn unsupported_required(req: &Request) -> Vec<String> {
    req.headers
        .require()
        .into_iter()
        .filter(|t| !REQUIRE_OK.iter().any(|ok| t.eq_ignore_ascii_case(ok)))
        .map(str::to_owned)
        .collect()
}

/// RFC 3261 §14.1: how long to wait before retrying a re-INVITE that got 491, in units
/// of 10 ms: 2.1-4 s when we own the Call-ID (we sent the dialog's INVITE), else 0-2 s.
fn glare_delay(owns_call_id: bool, random: u64) -> Duration {
    let tens = if owns_call_id {
        210 + random % 191
    } else {
        random % 201
    };
    Duration::from_millis(tens * 10)
}

/// A call leg, as the call core names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl std::fmt::Display for LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sip-{}", self.0)
    }
}

/// What the legs tell the call core.
#[derive(Debug, Clone, PartialEq)]
pub enum LegNotice {
    /// A call event from the far end of `leg`.
    Event {
        /// The leg.
        leg: LegId,
        /// The event.
        event: CallEvent,
    },
    /// The leg is finished (final response exchanged, BYE done): it may be forgotten.
    Gone {
        /// The leg.
        leg: LegId,
    },
}

/// Where an outgoing leg goes and as whom.
#[derive(Debug, Clone)]
pub struct OutgoingCall {
    /// The Request-URI.
    pub request_uri: Uri,
    /// The To header's address (usually the Request-URI without parameters).
    pub to: NameAddr,
    /// The From header's address (the caller as this trunk may see it), without tag.
    pub from: NameAddr,
    /// Extra identity headers (P-Asserted-Identity, Privacy, Remote-Party-ID).
    pub identity_headers: Vec<(String, String)>,
    /// The next hop.
    pub peer: Peer,
    /// The trunk, for logs.
    pub trunk: String,
    /// Digest credentials for challenges: user and password.
    pub credentials: Option<(String, String)>,
    /// The offer, if any (None: delayed offer, RFC 3261 §13.2.1).
    pub media: Option<Media>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Uas,
    Uac,
}

/// Our side of the session description on one leg (RFC 3264 §5: one origin, the
/// version goes up when the content changes).
#[derive(Debug, Clone)]
struct LocalSdp {
    origin: Origin,
    media: Option<Media>,
}

impl LocalSdp {
    fn new(session_id: u64, ip: IpAddr) -> LocalSdp {
        LocalSdp {
            origin: Origin {
                username: "-".to_owned(),
                session_id: session_id.to_string(),
                version: 1,
                address: ip.to_string(),
            },
            media: None,
        }
    }

    /// The SDP body for `media`, raising the version when it differs from the last.
    fn body(&mut self, media: &Media) -> Vec<u8> {
        if self.media.as_ref().is_some_and(|m| m != media) {
            self.origin.version += 1;
        }
        self.media = Some(media.clone());
        SessionDescription::from_media(self.origin.clone(), media)
            .to_string()
            .into_bytes()
    }

    /// The last body again (same version), or None when nothing was sent yet.
    fn current(&self) -> Option<Vec<u8>> {
        self.media.as_ref().map(|m| {
            SessionDescription::from_media(self.origin.clone(), m)
                .to_string()
                .into_bytes()
        })
    }
}

/// One leg.
#[derive(Debug)]
struct Leg {
    role: Role,
    /// Where requests of this leg go (and responses of a UAS come from).
    peer: Peer,
    /// The INVITE received (UAS) or last sent (UAC).
    invite: Request,
    local_tag: String,
    dialog: Option<Dialog>,
    server_tx: Option<ServerTxId>,
    client_tx: Option<ClientTxId>,
    /// Whether the INVITE carried an SDP offer.
    offer_in_invite: bool,
    /// A final response to the INVITE was sent or received.
    final_done: bool,
    answered: bool,
    sdp: LocalSdp,
    /// UAS: the 2xx being retransmitted until the ACK.
    retransmit: Option<(Retransmit2xx<SipMessage>, Response)>,
    /// UAC: the ACK of the 2xx, resent for each retransmitted 2xx.
    ack: Option<Vec<u8>>,
    /// A BYE of ours is in flight.
    bye_tx: Option<ClientTxId>,
    /// The call core released this leg (CANCEL sent, or BYE).
    released: bool,
    credentials: Option<(String, String)>,
    auth_tried: bool,
    /// The call core has been told the call ended on this leg.
    release_reported: bool,
    /// RFC 3262 on a UAS leg whose caller supports `100rel`.
    rel_uas: Option<ReliableUas>,
    /// RFC 3262 on a UAC leg: which reliable provisionals we PRACK.
    rel_uac: ReliableUac,
    /// Early dialogs of other forks (by To tag), only to PRACK their provisionals.
    forks: HashMap<String, Dialog>,
    /// Our SDP answer went out in a reliable provisional (RFC 3262 §5): the offer/answer
    /// is complete, later provisionals carry no SDP and the 2xx repeats it unchanged.
    early_answer: bool,
    /// The call core answered; the 2xx waits for a PRACK (RFC 3262 §3).
    pending_answer: Option<Option<MediaExchange>>,
    /// RFC 4028: negotiated from the INVITE (UAS) or the 2xx (UAC); runs once answered.
    session: Option<SessionTimer>,
    /// UAC: the Session-Expires and Min-SE our INVITE asks for (raised by a 422).
    se_asked: (u32, u32),
    /// UAC: the INVITE was already sent again after a 422.
    se_retried: bool,
    /// Our session refresh in flight.
    refresh: Option<Refresh>,
    /// The ACK of our last re-INVITE's 2xx, resent for its retransmissions.
    reinvite_ack: Option<(ClientTxId, Vec<u8>)>,
    /// The peer allows UPDATE (the Allow of its INVITE or 2xx).
    peer_update: bool,
    /// RFC 3261 §14.1: when our refresh is tried again after a 491.
    glare_retry: Option<Instant>,
    /// The peer holds the call (its last offer was sendonly or inactive, RFC 3264
    /// §8.4); the call core was told with `Hold`, and is told `Resume` when it ends.
    remote_hold: bool,
    /// We hold the peer for the other leg: our description says sendonly.
    local_hold: bool,
    /// A change of `local_hold` still has to reach the peer in a re-INVITE (one was in
    /// flight, or crossed the peer's).
    reoffer_pending: bool,
}

/// A session refresh we sent (RFC 4028 §7.4, §9).
#[derive(Debug, Clone)]
struct Refresh {
    tx: ClientTxId,
    method: Method,
    /// Its CSeq number (the ACK of a re-INVITE's 2xx carries it).
    seq: u32,
    /// It carries the hold/resume re-offer: the `local_hold` it says.
    reoffer: Option<bool>,
}

impl Leg {
    fn new(
        role: Role,
        peer: Peer,
        invite: Request,
        local_tag: String,
        sdp: LocalSdp,
        policy: Policy,
    ) -> Leg {
        Leg {
            role,
            peer,
            offer_in_invite: false,
            invite,
            local_tag,
            dialog: None,
            server_tx: None,
            client_tx: None,
            final_done: false,
            answered: false,
            sdp,
            retransmit: None,
            ack: None,
            bye_tx: None,
            released: false,
            credentials: None,
            auth_tried: false,
            release_reported: false,
            rel_uas: None,
            rel_uac: ReliableUac::default(),
            forks: HashMap::new(),
            early_answer: false,
            pending_answer: None,
            session: None,
            se_asked: (policy.interval, policy.min_se),
            se_retried: false,
            refresh: None,
            reinvite_ack: None,
            peer_update: false,
            glare_retry: None,
            remote_hold: false,
            local_hold: false,
            reoffer_pending: false,
        }
    }

    fn invite_seq(&self) -> u32 {
        invite_seq_of(&self.invite)
    }

    /// The earliest deadline of the leg's own timers.
    fn poll_timeout(&self) -> Option<Instant> {
        [
            self.retransmit
                .as_ref()
                .and_then(|(rt, _)| rt.poll_timeout()),
            self.rel_uas.as_ref().and_then(ReliableUas::poll_timeout),
            self.session.as_ref().and_then(SessionTimer::poll_timeout),
            self.glare_retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Our own wish for the stream direction (RFC 3264 §8.4): sendonly while we hold
    /// the peer.
    fn wish(&self) -> MediaDirection {
        if self.local_hold {
            MediaDirection::SendOnly
        } else {
            MediaDirection::SendRecv
        }
    }

    fn dialog_request(&mut self, method: Method) -> Option<Request> {
        let d = self.dialog.as_mut()?;
        Some(d.request(method))
    }
}

/// All SIP call legs of the gateway.
#[derive(Debug, Default)]
pub struct CallLegs {
    legs: HashMap<LegId, Leg>,
    by_server: HashMap<ServerTxId, LegId>,
    by_client: HashMap<ClientTxId, LegId>,
    /// (Call-ID, our tag) -> leg.
    by_dialog: HashMap<(String, String), LegId>,
    next: u64,
    out: VecDeque<LegNotice>,
    /// Our RFC 4028 intervals (`sip.session_timer`).
    pub session_policy: Policy,
}

/// A SIP URI on our address for Contact headers.
pub fn contact_for(local: SocketAddr, transport: Transport) -> NameAddr {
    let host = match local.ip() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    let param = match transport {
        Transport::Udp => "",
        Transport::Tcp => ";transport=tcp",
        Transport::Tls => ";transport=tls",
    };
    let text = format!("<sip:gw@{host}:{}{param}>", local.port());
    // Built from an IP literal and a port, so it always parses.
    NameAddr::parse(&text).expect("a SIP URI on an IP address parses")
}

/// The answer to a re-offer (re-INVITE, UPDATE or PRACK): the relay stays where it
/// is, so it is our current description with the direction answering theirs (RFC 3264
/// §6.1); and what the offer means for the call (hold, or new media).
fn answer_reoffer(leg: &mut Leg, resp: Response, offer: Media) -> (Response, Vec<CallEvent>) {
    let mut resp = resp;
    if let Some(mut ours) = leg.sdp.media.clone() {
        ours.direction = crate::sip::sdp::answer_direction(offer.direction, leg.wish());
        let body = leg.sdp.body(&ours);
        resp = resp.with_body("application/sdp", body);
    }
    // RFC 3264 §8.4: sendonly or inactive (or the old c=0.0.0.0, parsed as sendonly)
    // puts the call on hold; the next offer that receives again takes it off.
    let holds = matches!(
        offer.direction,
        MediaDirection::SendOnly | MediaDirection::Inactive
    );
    let events = match (holds, leg.remote_hold) {
        (true, false) => {
            leg.remote_hold = true;
            vec![CallEvent::Hold]
        }
        // Still held (a refresh during the hold): nothing new for the call core.
        (true, true) => Vec::new(),
        (false, true) => {
            leg.remote_hold = false;
            vec![
                CallEvent::Media(MediaExchange::Offer(offer)),
                CallEvent::Resume,
            ]
        }
        (false, false) => vec![CallEvent::Media(MediaExchange::Offer(offer))],
    };
    (resp, events)
}

fn media_of(body: &[u8], content_type: Option<&str>) -> Result<Option<Media>, ()> {
    if body.is_empty() {
        return Ok(None);
    }
    if let Some(ct) = content_type
        && !ct.to_ascii_lowercase().starts_with("application/sdp")
    {
        return Ok(None);
    }
    let sdp = SessionDescription::parse(body).map_err(|_| ())?;
    sdp.to_media().map(Some).map_err(|_| ())
}

/// The UAC dialog of a response to our INVITE (§12.1.2). A provisional without the
/// Contact §12.1.1 asks for (seen from linphone 5.1 with a broken contact setting) gets
/// the Request-URI as remote target, so it can still be PRACKed; the 2xx's Contact
/// replaces it.
fn uac_dialog(invite: &Request, resp: &Response) -> Option<Dialog> {
    match Dialog::uac(invite, resp) {
        Ok(d) => Some(d),
        Err(DialogError::Header("Contact")) if !resp.headers.contains("Contact") => {
            let mut patched = resp.clone();
            patched
                .headers
                .push("Contact", &NameAddr::new(invite.uri.clone()).to_string());
            Dialog::uac(invite, &patched).ok()
        }
        Err(_) => None,
    }
}

fn invite_seq_of(req: &Request) -> u32 {
    req.headers.cseq().ok().flatten().map_or(1, |c| c.seq)
}

fn q850_reason(cause: Cause) -> String {
    ReasonValue::q850(cause.value).to_string()
}

impl CallLegs {
    /// The next notice for the call core.
    pub fn poll_notice(&mut self) -> Option<LegNotice> {
        self.out.pop_front()
    }

    /// The address a leg's requests go to (for an incoming leg: where the INVITE came
    /// from).
    pub fn peer_of(&self, id: LegId) -> Option<std::net::SocketAddr> {
        self.legs.get(&id).map(|l| l.peer.addr)
    }

    /// The Call-ID of a leg's dialog.
    pub fn call_id_of(&self, id: LegId) -> Option<String> {
        self.legs
            .get(&id)
            .and_then(|l| l.invite.headers.call_id().map(str::to_owned))
    }

    /// Live legs.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    /// True when there are no legs.
    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }

    fn alloc(&mut self) -> LegId {
        self.next += 1;
        LegId(self.next)
    }

    /// A new incoming leg for an INVITE the service accepted for routing. Returns the
    /// leg and the offer it carried. `Err(status)` when its SDP is unusable (488).
    pub fn incoming(
        &mut self,
        endpoint: &mut Endpoint,
        tx: ServerTxId,
        invite: Request,
        peer: Peer,
        local: SocketAddr,
    ) -> Result<(LegId, Option<Media>), u16> {
        let ct = invite.headers.get("Content-Type").map(str::to_owned);
        let media = media_of(&invite.body, ct.as_deref()).map_err(|()| 488u16)?;
        let id = self.alloc();
        let local_tag = endpoint.ids().tag();
        let session_id = endpoint.ids().next_u64() >> 2;
        let call_id = invite.headers.call_id().unwrap_or_default().to_owned();
        self.by_server.insert(tx, id);
        self.by_dialog.insert((call_id, local_tag.clone()), id);
        // RFC 3262 §3: reliable provisionals when the caller supports or requires them.
        let h = &invite.headers;
        let wants_100rel = h.has_option_tag("Supported", reliable::OPTION_TAG)
            || h.has_option_tag("Require", reliable::OPTION_TAG);
        let rseq = reliable::first_rseq(endpoint.ids().next_u64());
        let rel_uas = wants_100rel.then(|| {
            ReliableUas::new(
                rseq,
                invite_seq_of(&invite),
                peer.transport.reliability(),
                endpoint.config().timers,
            )
        });
        // RFC 4028 §9 (the service already refused an interval below our minimum).
        let session = SessionTimer::negotiate_uas(&invite, None, self.session_policy);
        let peer_update = invite.headers.allow().contains(&Method::Update);
        let mut leg = Leg::new(
            Role::Uas,
            peer,
            invite,
            local_tag,
            LocalSdp::new(session_id, local.ip()),
            self.session_policy,
        );
        leg.offer_in_invite = media.is_some();
        leg.server_tx = Some(tx);
        leg.rel_uas = rel_uas;
        leg.session = Some(session);
        leg.peer_update = peer_update;
        self.legs.insert(id, leg);
        Ok((id, media))
    }

    /// Starts an outgoing leg: sends the INVITE.
    pub fn outgoing(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        call: OutgoingCall,
        local: SocketAddr,
    ) -> LegId {
        let id = self.alloc();
        let local_tag = endpoint.ids().tag();
        let call_id = endpoint.ids().call_id();
        let session_id = endpoint.ids().next_u64() >> 2;
        let mut from = call.from.clone();
        from.set_tag(&local_tag);
        let mut sdp = LocalSdp::new(session_id, local.ip());
        let mut invite = Request::new(Method::Invite, call.request_uri.clone());
        invite.headers.push("Max-Forwards", "70");
        invite.headers.push("From", &from.to_string());
        invite.headers.push("To", &call.to.to_string());
        invite.headers.push("Call-ID", &call_id);
        invite.headers.push(
            "CSeq",
            &CSeq {
                seq: 1,
                method: Method::Invite,
            }
            .to_string(),
        );
        invite.headers.push(
            "Contact",
            &contact_for(local, call.peer.transport).to_string(),
        );
        for (name, value) in &call.identity_headers {
            invite.headers.push(name, value);
        }
        invite.headers.push("Allow", crate::sip::service::ALLOW);
        // RFC 3262: 100rel only with an offer (an offer in a reliable provisional would
        // need an answer in the PRACK, which the call core cannot give at once).
        let supported = if call.media.is_some() {
            SUPPORTED
        } else {
            "timer, replaces"
        };
        invite.headers.push("Supported", supported);
        // RFC 4028 §7.1: the interval we ask for; the UAS picks the refresher.
        invite
            .headers
            .push("Session-Expires", &self.session_policy.interval.to_string());
        invite
            .headers
            .push("Min-SE", &self.session_policy.min_se.to_string());
        if let Some(m) = &call.media {
            let body = sdp.body(m);
            invite = invite.with_body("application/sdp", body);
        }
        self.by_dialog.insert((call_id, local_tag.clone()), id);
        let tx = endpoint.send_request(now, invite.clone(), call.peer);
        self.by_client.insert(tx, id);
        let mut leg = Leg::new(
            Role::Uac,
            call.peer,
            invite,
            local_tag,
            sdp,
            self.session_policy,
        );
        leg.offer_in_invite = call.media.is_some();
        leg.client_tx = Some(tx);
        leg.credentials = call.credentials;
        self.legs.insert(id, leg);
        id
    }

    /// A call event from the call core for `leg`.
    pub fn send(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId, event: CallEvent) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        match (leg.role, event) {
            (Role::Uas, CallEvent::Proceeding) => {}
            (Role::Uas, CallEvent::Alerting(p)) => Self::provisional(now, endpoint, leg, 180, &p),
            (Role::Uas, CallEvent::Progress(p)) => Self::provisional(now, endpoint, leg, 183, &p),
            (Role::Uas, CallEvent::Connect { media, .. }) => {
                self.answer(now, endpoint, id, media);
            }
            (_, CallEvent::Release(r)) => self.release(now, endpoint, id, &r),
            // The other leg's party holds or resumes (RFC 3264 §8.4): re-offer our
            // anchored description sendonly, or sendrecv again.
            (_, CallEvent::Hold) if leg.answered => self.hold(now, endpoint, id, true),
            (_, CallEvent::Resume) if leg.answered => self.hold(now, endpoint, id, false),
            (_, CallEvent::Info(mapping::model::Info::Dtmf { digit, duration_ms })) => {
                // RFC 2976 INFO with application/dtmf-relay (the common de-facto body).
                if let Some(mut req) = leg.dialog_request(Method::Info) {
                    let body = format!("Signal={digit}\r\nDuration={duration_ms}\r\n");
                    req = req.with_body("application/dtmf-relay", body.into_bytes());
                    let tx = endpoint.send_request(now, req, leg.peer);
                    self.by_client.insert(tx, id);
                }
            }
            // Media changes of the other leg are absorbed by the anchored relay; setup
            // events do not go to existing legs.
            _ => {}
        }
    }

    fn response_for(leg: &Leg, status: u16) -> Response {
        let mut r = Response::for_request(&leg.invite, status, "").with_to_tag(&leg.local_tag);
        if (101..300).contains(&status) {
            // §12.1.1: record the route set and give our Contact.
            for (n, v) in leg.invite.headers.iter() {
                if crate::sip::message::names_match(n, "Record-Route") {
                    r.headers.push("Record-Route", v);
                }
            }
        }
        r
    }

    fn local_addr(endpoint: &Endpoint, transport: Transport) -> SocketAddr {
        endpoint
            .config()
            .sent_by
            .get(&transport)
            .or_else(|| endpoint.config().sent_by.values().next())
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)))
    }

    fn with_contact(endpoint: &Endpoint, leg: &Leg, r: Response) -> Response {
        let local = Self::local_addr(endpoint, leg.peer.transport);
        r.with_header(
            "Contact",
            &contact_for(local, leg.peer.transport).to_string(),
        )
    }

    fn provisional(
        now: Instant,
        endpoint: &mut Endpoint,
        leg: &mut Leg,
        status: u16,
        p: &Progress,
    ) {
        if leg.final_done {
            return;
        }
        let Some(tx) = leg.server_tx else { return };
        let mut r = Self::with_contact(endpoint, leg, Self::response_for(leg, status));
        if let Some(MediaExchange::Answer(m) | MediaExchange::Offer(m)) = &p.media
            && leg.offer_in_invite
            && !leg.early_answer
        {
            let body = leg.sdp.body(m);
            r = r.with_body("application/sdp", body);
            // RFC 3262 §5: an answer in a reliable provisional completes the exchange.
            leg.early_answer = leg.rel_uas.is_some();
        }
        if leg.dialog.is_none() {
            let contact = contact_for(
                Self::local_addr(endpoint, leg.peer.transport),
                leg.peer.transport,
            );
            leg.dialog = Dialog::uas(&leg.invite, &r, contact).ok();
        }
        let r = match leg.rel_uas.as_mut() {
            // Numbered and retransmitted until its PRACK, or queued behind the one
            // still unacknowledged.
            Some(rel) => match rel.send(now, r) {
                Some(r) => r,
                None => return,
            },
            None => r,
        };
        endpoint.send_response(now, tx, r);
    }

    fn answer(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        id: LegId,
        media: Option<MediaExchange>,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(tx) = leg.server_tx else { return };
        if leg.final_done {
            return;
        }
        // RFC 3262 §3: no 2xx while a provisional with SDP waits for its PRACK.
        if leg.rel_uas.as_ref().is_some_and(ReliableUas::holds_2xx) {
            leg.pending_answer = Some(media);
            return;
        }
        leg.pending_answer = None;
        if let Some(rel) = leg.rel_uas.as_mut() {
            rel.final_sent();
        }
        let mut r = Self::with_contact(endpoint, leg, Self::response_for(leg, 200));
        r.headers.push("Allow", crate::sip::service::ALLOW);
        r.headers.push("Supported", SUPPORTED);
        if leg.early_answer {
            // The answer went in a reliable provisional: repeat it unchanged.
            if let Some(body) = leg.sdp.current() {
                r = r.with_body("application/sdp", body);
            }
        } else if let Some(MediaExchange::Answer(m) | MediaExchange::Offer(m)) = &media {
            let body = leg.sdp.body(m);
            r = r.with_body("application/sdp", body);
        } else if let Some(body) = leg.sdp.current() {
            r = r.with_body("application/sdp", body);
        }
        // RFC 4028 §9: the interval and refresher; the timer runs from this 2xx.
        if let Some(st) = leg.session.as_mut() {
            r.headers.push("Session-Expires", &st.header_value(false));
            if st.response_requires_timer() {
                r.headers.push("Require", session_timer::OPTION_TAG);
            }
            st.start(now);
        }
        if !r.headers.contains("Server") {
            r.headers
                .push("Server", &endpoint.config().user_agent.clone());
        }
        let contact = contact_for(
            Self::local_addr(endpoint, leg.peer.transport),
            leg.peer.transport,
        );
        match leg.dialog.as_mut() {
            Some(d) => d.confirm(),
            None => leg.dialog = Dialog::uas(&leg.invite, &r, contact).ok(),
        }
        leg.final_done = true;
        leg.answered = true;
        let rt = Retransmit2xx::new(
            now,
            SipMessage::Response(r.clone()),
            leg.peer.transport.reliability(),
            endpoint.config().timers,
        );
        leg.retransmit = Some((rt, r.clone()));
        endpoint.send_response(now, tx, r);
    }

    fn release(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId, r: &Release) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.released {
            return;
        }
        leg.released = true;
        // The call core ended the call: nothing more to report for this leg.
        leg.release_reported = true;
        let reason = q850_reason(r.cause);
        match leg.role {
            Role::Uas if !leg.final_done => {
                if let Some(tx) = leg.server_tx {
                    let status = status_for_release(r);
                    let resp = Self::response_for(leg, status).with_header("Reason", &reason);
                    leg.final_done = true;
                    endpoint.send_response(now, tx, resp);
                }
                self.finish(id);
            }
            Role::Uac if !leg.answered => {
                if let Some(tx) = leg.client_tx {
                    // §9.1: the CANCEL goes out once a provisional has arrived; the 487
                    // (or a racing 2xx, which gets ACK + BYE) ends the leg.
                    endpoint.cancel_with_reason(now, tx, &reason);
                }
            }
            _ => self.bye(now, endpoint, id, Some(reason)),
        }
    }

    fn bye(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId, reason: Option<String>) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.bye_tx.is_some() {
            return;
        }
        let Some(mut req) = leg.dialog_request(Method::Bye) else {
            self.finish(id);
            return;
        };
        if let Some(reason) = reason {
            req.headers.push("Reason", &reason);
        }
        let tx = endpoint.send_request(now, req, leg.peer);
        leg.bye_tx = Some(tx);
        self.by_client.insert(tx, id);
    }

    /// Forgets a leg and tells the call core.
    fn finish(&mut self, id: LegId) {
        if let Some(leg) = self.legs.remove(&id) {
            if let Some(tx) = leg.server_tx {
                self.by_server.remove(&tx);
            }
            self.by_client.retain(|_, l| *l != id);
            let call_id = leg.invite.headers.call_id().unwrap_or_default().to_owned();
            self.by_dialog.remove(&(call_id, leg.local_tag));
            if !leg.release_reported {
                self.out.push_back(LegNotice::Event {
                    leg: id,
                    event: CallEvent::Release(Release {
                        cause: Cause::user(Q850Cause::NORMAL_CLEARING),
                        initiator: Initiator::Gateway,
                        sip_status: None,
                    }),
                });
            }
            self.out.push_back(LegNotice::Gone { leg: id });
        }
    }

    fn report(&mut self, id: LegId, event: CallEvent) {
        if let CallEvent::Release(_) = &event {
            match self.legs.get_mut(&id) {
                Some(l) if !l.release_reported => l.release_reported = true,
                _ => return,
            }
        }
        self.out.push_back(LegNotice::Event { leg: id, event });
    }

    fn initiator(role: Role) -> Initiator {
        match role {
            Role::Uas => Initiator::Caller,
            Role::Uac => Initiator::Callee,
        }
    }

    // ----- endpoint events -------------------------------------------------------------

    /// The INVITE of `tx` was cancelled (the endpoint answered the CANCEL 200).
    pub fn cancelled(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: ServerTxId,
        reason: Option<&str>,
    ) -> bool {
        let Some(&id) = self.by_server.get(&tx) else {
            return false;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return false;
        };
        if !leg.final_done {
            leg.final_done = true;
            let resp = Self::response_for(leg, 487);
            endpoint.send_response(now, tx, resp);
            let release = release_for_request(reason, Initiator::Caller);
            self.report(id, CallEvent::Release(release));
            self.finish(id);
        }
        true
    }

    /// The server transaction of a leg's INVITE failed (Timer H: our final was never
    /// ACKed). For a 2xx the dialog is ended with a BYE (§13.3.1.4).
    pub fn server_failed(&mut self, now: Instant, endpoint: &mut Endpoint, tx: ServerTxId) -> bool {
        let Some(&id) = self.by_server.get(&tx) else {
            return false;
        };
        self.no_ack(now, endpoint, id);
        true
    }

    fn no_ack(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let answered = self.legs.get(&id).is_some_and(|l| l.answered);
        self.report(
            id,
            CallEvent::Release(Release {
                cause: Cause::user(Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
                initiator: Initiator::Gateway,
                sip_status: None,
            }),
        );
        if answered {
            self.bye(
                now,
                endpoint,
                id,
                Some(q850_reason(Cause::user(
                    Q850Cause::RECOVERY_ON_TIMER_EXPIRY,
                ))),
            );
        } else {
            self.finish(id);
        }
    }

    /// An ACK outside any transaction: the ACK of one of our 2xx (§13.3.1.4). False
    /// when it belongs to no leg.
    pub fn ack(&mut self, now: Instant, req: &Request) -> bool {
        let Some(id) = self.dialog_leg(req) else {
            return false;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return false;
        };
        if let Some((rt, _)) = leg.retransmit.as_mut() {
            rt.handle_ack(now);
            leg.retransmit = None;
            // A delayed offer (§13.2.1): our 2xx carried the offer, the ACK the answer.
            if !leg.offer_in_invite {
                let ct = req.headers.get("Content-Type");
                if let Ok(Some(m)) = media_of(&req.body, ct) {
                    self.report(id, CallEvent::Media(MediaExchange::Answer(m)));
                }
            }
        }
        true
    }

    fn dialog_leg(&self, req: &Request) -> Option<LegId> {
        let call_id = req.headers.call_id()?.to_owned();
        let to_tag = req.headers.to().ok().flatten()?.tag()?.to_owned();
        self.by_dialog.get(&(call_id, to_tag)).copied()
    }

    /// An in-dialog request (To tag set). `None` when it matches no leg (the service
    /// answers 481); otherwise the response has been sent.
    pub fn in_dialog(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: ServerTxId,
        req: &Request,
    ) -> Option<()> {
        let id = self.dialog_leg(req)?;
        let leg = self.legs.get_mut(&id)?;
        let Some(dialog) = leg.dialog.as_mut() else {
            endpoint.send_response(now, tx, Response::for_request(req, 481, ""));
            return Some(());
        };
        if let Err(e) = dialog.receive(req) {
            let status = match e {
                DialogError::OutOfOrder { .. } => 500,
                _ => 400,
            };
            endpoint.send_response(now, tx, Response::for_request(req, status, ""));
            return Some(());
        }
        let role = leg.role;
        match req.method {
            Method::Bye => {
                endpoint.send_response(now, tx, Response::for_request(req, 200, ""));
                let reason = req.headers.get("Reason");
                let release = release_for_request(reason, Self::initiator(role));
                if let Some(d) = leg.dialog.as_mut() {
                    d.terminate();
                }
                self.report(id, CallEvent::Release(release));
                self.finish(id);
            }
            Method::Invite | Method::Update => self.reoffer(now, endpoint, tx, id, req),
            Method::Info => {
                endpoint.send_response(now, tx, Response::for_request(req, 200, ""));
                if let Some(digit) = dtmf_relay_digit(&req.body) {
                    self.report(
                        id,
                        CallEvent::Info(mapping::model::Info::Dtmf {
                            digit: digit.0,
                            duration_ms: digit.1,
                        }),
                    );
                }
            }
            Method::Options => {
                let r = Response::for_request(req, 200, "")
                    .with_header("Allow", crate::sip::service::ALLOW);
                endpoint.send_response(now, tx, r);
            }
            Method::Prack => self.prack_received(now, endpoint, tx, id, req),
            _ => {
                let r = Response::for_request(req, 405, "")
                    .with_header("Allow", crate::sip::service::ALLOW);
                endpoint.send_response(now, tx, r);
            }
        }
        Some(())
    }

    /// A re-INVITE or UPDATE in the dialog: a re-offer, a session refresh, or both.
    fn reoffer(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: ServerTxId,
        id: LegId,
        req: &Request,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        // RFC 3261 §14.2, RFC 3311 §5.2: glare with our re-INVITE in progress.
        let ours_pending = leg
            .refresh
            .as_ref()
            .is_some_and(|r| r.method == Method::Invite);
        if ours_pending && (req.method == Method::Invite || !req.body.is_empty()) {
            endpoint.send_response(now, tx, Response::for_request(req, 491, ""));
            return;
        }
        let unsupported = unsupported_required(req);
        if !unsupported.is_empty() {
            let resp = Response::for_request(req, 420, "")
                .with_header("Unsupported", &unsupported.join(", "));
            endpoint.send_response(now, tx, resp);
            return;
        }
        let timed = leg.session.is_some() || req.headers.contains("Session-Expires");
        if timed && let Some(min_se) = session_timer::too_small(req, self.session_policy) {
            let resp =
                Response::for_request(req, 422, "").with_header("Min-SE", &min_se.to_string());
            endpoint.send_response(now, tx, resp);
            return;
        }
        // A re-offer: the relay stays where it is, so the answer is our current
        // description, with the direction answering theirs (RFC 3264 §6.1).
        let ct = req.headers.get("Content-Type");
        let offered = media_of(&req.body, ct);
        let mut resp = Self::with_contact(endpoint, leg, Response::for_request(req, 200, ""));
        let mut events = Vec::new();
        match offered {
            Ok(Some(m)) => {
                let (r, e) = answer_reoffer(leg, resp, m);
                resp = r;
                events = e;
            }
            // An UPDATE without SDP is a plain refresh (RFC 4028 §7.4); a re-INVITE
            // without one gets our description as the offer.
            Ok(None) if req.method == Method::Update => {}
            Ok(None) => {
                if let Some(body) = leg.sdp.current() {
                    resp = resp.with_body("application/sdp", body);
                }
            }
            Err(()) => {
                endpoint.send_response(now, tx, Response::for_request(req, 488, ""));
                return;
            }
        }
        if req.headers.contains("Allow") {
            leg.peer_update = req.headers.allow().contains(&Method::Update);
        }
        // RFC 4028 §9: a session refresh; the timer restarts with this 2xx.
        if timed && leg.answered {
            let mut st =
                SessionTimer::negotiate_uas(req, leg.session.as_ref(), self.session_policy);
            resp.headers
                .push("Session-Expires", &st.header_value(false));
            if st.response_requires_timer() {
                resp.headers.push("Require", session_timer::OPTION_TAG);
            }
            resp.headers.push("Supported", SUPPORTED);
            st.start(now);
            leg.session = Some(st);
            // Refreshed by the peer: a retry of ours after a 491 is not needed.
            leg.glare_retry = None;
        }
        endpoint.send_response(now, tx, resp);
        for event in events {
            self.report(id, event);
        }
    }

    /// A PRACK (RFC 3262 §3): 200 when its RAck names our unacknowledged reliable
    /// provisional, 481 otherwise; then the next queued provisional or the held 2xx.
    fn prack_received(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: ServerTxId,
        id: LegId,
        req: &Request,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let rack: Option<RAck> = req.headers.rack().ok().flatten();
        let matched = match (leg.rel_uas.as_mut(), rack) {
            (Some(rel), Some(rack)) => rel.prack(&rack),
            _ => false,
        };
        if !matched {
            endpoint.send_response(now, tx, Response::for_request(req, 481, ""));
            return;
        }
        // We never offer in a provisional, so a PRACK carries no answer for us. An offer
        // in it (RFC 3262 §5, RFC 6337 §3.1.3: a new offer once the early exchange is
        // done) is answered in the 200 like a re-offer: our anchored description, the
        // direction answering theirs.
        let ct = req.headers.get("Content-Type");
        let mut ok = Response::for_request(req, 200, "");
        let mut events = Vec::new();
        match media_of(&req.body, ct) {
            Ok(Some(m)) if leg.sdp.media.is_some() => {
                let (r, e) = answer_reoffer(leg, ok, m);
                ok = r;
                events = e;
            }
            Ok(_) => {}
            Err(()) => {
                endpoint.send_response(now, tx, Response::for_request(req, 488, ""));
                return;
            }
        }
        endpoint.send_response(now, tx, ok);
        if let Some(media) = leg.pending_answer.take() {
            self.answer(now, endpoint, id, media);
        } else if let (Some(rel), Some(itx)) = (leg.rel_uas.as_mut(), leg.server_tx)
            && let Some(next) = rel.next(now)
        {
            endpoint.send_response(now, itx, next);
        }
        for event in events {
            self.report(id, event);
        }
    }

    /// A response on a client transaction. False when it belongs to no leg.
    pub fn response(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: ClientTxId,
        resp: Response,
    ) -> bool {
        let Some(&id) = self.by_client.get(&tx) else {
            return false;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return true;
        };
        if leg.bye_tx == Some(tx) {
            if resp.status.is_final() {
                self.finish(id);
            }
            return true;
        }
        if leg.refresh.as_ref().is_some_and(|r| r.tx == tx) {
            self.refresh_response(now, endpoint, id, &resp);
            return true;
        }
        if let Some((rtx, bytes)) = &leg.reinvite_ack
            && *rtx == tx
        {
            // A retransmitted 2xx of our re-INVITE: the same ACK again (§13.2.2.4).
            if resp.status.is_success() {
                endpoint.resend(leg.peer, bytes.clone(), "ACK");
            }
            return true;
        }
        if leg.client_tx != Some(tx) {
            return true; // INFO, PRACK and the like: nothing to do with the answer.
        }
        let status = resp.status.0;
        if status == 100 {
            return true;
        }
        if (status == 401 || status == 407)
            && !leg.auth_tried
            && leg.credentials.is_some()
            && self.retry_with_credentials(now, endpoint, id, &resp)
        {
            return true;
        }
        if status == 422 && self.retry_with_session_expires(now, endpoint, id, &resp) {
            return true;
        }
        let Some(leg) = self.legs.get_mut(&id) else {
            return true;
        };
        // §12.1.2: a provisional with a To tag makes an early dialog, a 2xx a confirmed one.
        if resp.status.is_success() || (status > 100 && status < 200) {
            match leg.dialog.as_mut() {
                Some(d) if resp.status.is_success() => {
                    d.confirm();
                    if let Ok(Some(c)) = resp.headers.contacts().map(|c| c.into_iter().next())
                        && let crate::sip::message::Contact::Addr(a) = c
                    {
                        d.remote_target = a.uri;
                    }
                }
                Some(_) => {}
                None => leg.dialog = uac_dialog(&leg.invite, &resp),
            }
        }
        // RFC 3262 §4: PRACK the next reliable provisional of each early dialog; drop
        // retransmissions and ones out of order.
        if status > 100 && status < 200 {
            match leg.rel_uac.receive(&resp, leg.invite_seq()) {
                UacVerdict::Discard => return true,
                UacVerdict::Prack(rack) => self.send_prack(now, endpoint, id, &resp, &rack),
                UacVerdict::Unreliable => {}
            }
        }
        let Some(leg) = self.legs.get_mut(&id) else {
            return true;
        };
        if resp.status.is_success() {
            // RFC 4028 §7.2: the 2xx says whether a session timer runs and who refreshes.
            leg.session = SessionTimer::from_2xx(&resp, leg.se_asked.1);
            if let Some(st) = leg.session.as_mut() {
                st.start(now);
            }
            if resp.headers.contains("Allow") {
                leg.peer_update = resp.headers.allow().contains(&Method::Update);
            }
        }
        let ct = resp.headers.get("Content-Type").map(str::to_owned);
        let media = media_of(&resp.body, ct.as_deref()).ok().flatten();
        if resp.status.is_success() {
            self.ack_2xx(endpoint, id, &resp);
            let Some(leg) = self.legs.get_mut(&id) else {
                return true;
            };
            leg.answered = true;
            leg.final_done = true;
            if leg.released {
                // Our CANCEL lost the race (§9.1): end the call the answer started.
                self.bye(now, endpoint, id, None);
                return true;
            }
        } else if resp.status.is_final() {
            leg.final_done = true;
        }
        let reason = resp.headers.get("Reason").map(str::to_owned);
        let warning = resp.headers.get("Warning").map(str::to_owned);
        let offer_sent = self.legs.get(&id).is_some_and(|l| l.offer_in_invite);
        let event = invite_response_to_event(InviteResponseIn {
            status,
            reason: reason.as_deref(),
            warning: warning.as_deref(),
            media,
            offer_sent,
        });
        if let Some(event) = event {
            let released = self.legs.get(&id).is_some_and(|l| l.released);
            if !released {
                self.report(id, event);
            }
        }
        if status >= 300 {
            self.finish(id);
        }
        true
    }

    /// Sends PRACK for a reliable provisional (RFC 3262 §4), in the early dialog of its
    /// To tag.
    fn send_prack(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        id: LegId,
        resp: &Response,
        rack: &RAck,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(tag) = resp
            .headers
            .to()
            .ok()
            .flatten()
            .and_then(|t| t.tag().map(str::to_owned))
        else {
            return;
        };
        let peer = leg.peer;
        let dialog = if leg.dialog.as_ref().is_some_and(|d| d.id.remote_tag == tag) {
            leg.dialog.as_mut()
        } else {
            // Another fork's early dialog (§12.1.2 makes one per To tag).
            if !leg.forks.contains_key(&tag)
                && let Some(d) = uac_dialog(&leg.invite, resp)
            {
                leg.forks.insert(tag.clone(), d);
            }
            leg.forks.get_mut(&tag)
        };
        let Some(dialog) = dialog else {
            return;
        };
        let mut prack = dialog.request(Method::Prack);
        prack.headers.push("RAck", &rack.to_string());
        let tx = endpoint.send_request(now, prack, peer);
        self.by_client.insert(tx, id);
    }

    /// RFC 4028 §7.4 / §8.2: a 422 to our INVITE: once, again with the interval raised
    /// to the Min-SE it names.
    fn retry_with_session_expires(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        id: LegId,
        resp: &Response,
    ) -> bool {
        let Some(leg) = self.legs.get_mut(&id) else {
            return false;
        };
        let Some(min_se) = resp.headers.min_se().ok().flatten() else {
            return false;
        };
        if leg.se_retried || min_se <= leg.se_asked.0 {
            return false;
        }
        leg.se_retried = true;
        leg.se_asked = (min_se, min_se.max(leg.se_asked.1));
        let mut invite = Self::next_invite(leg);
        invite
            .headers
            .replace("Session-Expires", &leg.se_asked.0.to_string());
        invite
            .headers
            .replace("Min-SE", &leg.se_asked.1.to_string());
        self.send_invite_again(now, endpoint, id, invite);
        true
    }

    /// The INVITE again for a retry (§8.1.3.5): no Via, the next CSeq.
    fn next_invite(leg: &Leg) -> Request {
        let mut invite = leg.invite.clone();
        invite.headers.remove("Via");
        let seq = leg.invite_seq() + 1;
        invite.headers.replace(
            "CSeq",
            &CSeq {
                seq,
                method: Method::Invite,
            }
            .to_string(),
        );
        invite
    }

    /// Sends a retried INVITE in a new transaction in place of the old one (whose ACK
    /// for the 4xx the transaction sent).
    fn send_invite_again(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        id: LegId,
        invite: Request,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if let Some(old) = leg.client_tx.take() {
            self.by_client.remove(&old);
        }
        leg.invite = invite.clone();
        let tx = endpoint.send_request(now, invite, leg.peer);
        leg.client_tx = Some(tx);
        self.by_client.insert(tx, id);
    }

    /// Holds (sendonly) or resumes (sendrecv) the peer for the other leg's party
    /// (RFC 3264 §8.4): a re-INVITE with our anchored description in the new direction,
    /// sent now or when the re-INVITE in flight is done.
    fn hold(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId, hold: bool) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.local_hold == hold {
            return;
        }
        leg.local_hold = hold;
        let direction = leg.wish();
        if let Some(mut ours) = leg.sdp.media.clone() {
            ours.direction = direction;
            // A new version of our description (RFC 3264 §8).
            leg.sdp.body(&ours);
        }
        leg.reoffer_pending = true;
        self.refresh(now, endpoint, id);
    }

    /// Sends a session refresh (RFC 4028 §7.4 as UAC, §9 as UAS): UPDATE without SDP
    /// when the peer allows it, else a re-INVITE with our current description; a
    /// pending hold/resume always goes as a re-INVITE (it changes the description).
    fn refresh(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if !leg.answered || leg.released || leg.bye_tx.is_some() || leg.refresh.is_some() {
            return;
        }
        let reoffer = leg.reoffer_pending.then_some(leg.local_hold);
        let timer = leg
            .session
            .as_ref()
            .map(|st| (st.header_value(true), st.min_se));
        if timer.is_none() && reoffer.is_none() {
            return;
        }
        let method = if leg.peer_update && reoffer.is_none() {
            Method::Update
        } else {
            Method::Invite
        };
        let body = leg.sdp.current();
        let Some(mut req) = leg.dialog_request(method.clone()) else {
            return;
        };
        let seq = req.headers.cseq().ok().flatten().map_or(0, |c| c.seq);
        if let Some((se, min_se)) = timer {
            req.headers.push("Session-Expires", &se);
            req.headers.push("Min-SE", &min_se.to_string());
        }
        req.headers.push("Supported", SUPPORTED);
        if method == Method::Invite {
            req.headers.push("Allow", crate::sip::service::ALLOW);
            if let Some(body) = body {
                req = req.with_body("application/sdp", body);
            }
        }
        let tx = endpoint.send_request(now, req, leg.peer);
        leg.refresh = Some(Refresh {
            tx,
            method,
            seq,
            reoffer,
        });
        leg.glare_retry = None;
        self.by_client.insert(tx, id);
    }

    /// The final response to our session refresh.
    fn refresh_response(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        id: LegId,
        resp: &Response,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let status = resp.status.0;
        if status < 200 {
            return;
        }
        let Some(rf) = leg.refresh.take() else {
            return;
        };
        match status {
            200..=299 => {
                if rf.method == Method::Invite
                    && let Some(d) = leg.dialog.as_ref()
                {
                    let bytes = endpoint.send_ack(d.ack(rf.seq), leg.peer);
                    leg.reinvite_ack = Some((rf.tx, bytes));
                }
                if resp.headers.contains("Allow") {
                    leg.peer_update = resp.headers.allow().contains(&Method::Update);
                }
                // §7.2: the 2xx restarts the timer; without Session-Expires from a peer
                // that knows the extension, it ends it. A peer without the extension
                // (§9: we refresh for it) never sends one: our timer goes on.
                let min_se = leg
                    .session
                    .as_ref()
                    .map_or(self.session_policy.min_se, |s| s.min_se);
                let knows_timer = resp
                    .headers
                    .has_option_tag("Supported", session_timer::OPTION_TAG)
                    || leg.session.as_ref().is_some_and(|s| s.peer_supports);
                leg.session = match SessionTimer::from_2xx(resp, min_se) {
                    Some(st) => Some(st),
                    None if !knows_timer => leg.session.take(),
                    None => None,
                };
                if let Some(st) = leg.session.as_mut() {
                    st.start(now);
                }
                // A hold/resume asked for while this one was in flight goes now.
                if leg.reoffer_pending {
                    if rf.reoffer == Some(leg.local_hold) {
                        leg.reoffer_pending = false;
                    } else {
                        self.refresh(now, endpoint, id);
                    }
                }
            }
            491 => {
                // §14.1: the peer's re-INVITE crossed ours; try again after a while.
                let delay = glare_delay(leg.role == Role::Uac, endpoint.ids().next_u64());
                leg.glare_retry = Some(now + delay);
            }
            422 => {
                let min_se = resp.headers.min_se().ok().flatten().unwrap_or(0);
                if let Some(st) = leg.session.as_mut()
                    && min_se > st.interval
                {
                    st.interval = min_se;
                    st.min_se = min_se;
                    self.refresh(now, endpoint, id);
                }
            }
            405 | 501 if rf.method == Method::Update => {
                leg.peer_update = false;
                self.refresh(now, endpoint, id);
            }
            408 | 481 => {
                // RFC 4028 §10 (and RFC 3261 §12.2.1.2): the dialog is gone.
                leg.released = true;
                let cause = Cause::user(Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
                self.report(
                    id,
                    CallEvent::Release(Release {
                        cause,
                        initiator: Initiator::Gateway,
                        sip_status: Some(status),
                    }),
                );
                self.bye(now, endpoint, id, Some(q850_reason(cause)));
            }
            // Refused otherwise: the session is not refreshed and runs out (§10); a
            // refused hold/resume is not tried again (the media stays anchored).
            _ => {
                if rf.reoffer.is_some() {
                    tracing::debug!(status, "hold/resume re-INVITE refused");
                    leg.reoffer_pending = false;
                }
            }
        }
    }

    /// No refresh came in time (RFC 4028 §10): BYE, and a release with cause 102 for
    /// the call core.
    fn session_expired(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if !leg.answered || leg.bye_tx.is_some() {
            return;
        }
        leg.released = true;
        let cause = Cause::user(Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
        self.report(
            id,
            CallEvent::Release(Release {
                cause,
                initiator: Initiator::Gateway,
                sip_status: None,
            }),
        );
        self.bye(now, endpoint, id, Some(q850_reason(cause)));
    }

    /// A reliable provisional went unacknowledged for 64*T1 (RFC 3262 §3): a 5xx for the
    /// INVITE, and a release with cause 102 for the call core.
    fn prack_timeout(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(tx) = leg.server_tx else {
            return;
        };
        if leg.final_done {
            return;
        }
        leg.final_done = true;
        leg.pending_answer = None;
        let cause = Cause::user(Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
        let resp = Self::response_for(leg, 500).with_header("Reason", &q850_reason(cause));
        endpoint.send_response(now, tx, resp);
        self.report(
            id,
            CallEvent::Release(Release {
                cause,
                initiator: Initiator::Gateway,
                sip_status: Some(500),
            }),
        );
        self.finish(id);
    }

    fn retry_with_credentials(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        id: LegId,
        resp: &Response,
    ) -> bool {
        let Some(leg) = self.legs.get_mut(&id) else {
            return false;
        };
        let Some((user, password)) = leg.credentials.clone() else {
            return false;
        };
        let (challenge_header, answer_header) = if resp.status.0 == 407 {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let Some(challenge) = resp.headers.get_all(challenge_header).find_map(|v| {
            let value = crate::sip::message::AuthValue::parse(v).ok()?;
            let params: Vec<(String, String)> = value
                .params
                .iter()
                .map(|(n, raw)| (n.clone(), crate::sip::message::unquote(raw).into_owned()))
                .collect();
            Challenge::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        }) else {
            return false;
        };
        leg.auth_tried = true;
        let mut invite = Self::next_invite(leg);
        let uri = invite.uri.to_string();
        let cnonce = endpoint.ids().token(16);
        let credentials = digest::answer(&challenge, &user, &password, "INVITE", &uri, &cnonce, 1);
        invite
            .headers
            .push(answer_header, &credentials.to_header_value());
        // §8.1.3.5: the ACK for the 401/407 was sent by the transaction.
        self.send_invite_again(now, endpoint, id, invite);
        true
    }

    fn ack_2xx(&mut self, endpoint: &mut Endpoint, id: LegId, _resp: &Response) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let seq = leg
            .invite
            .headers
            .cseq()
            .ok()
            .flatten()
            .map_or(1, |c| c.seq);
        let Some(d) = leg.dialog.as_ref() else {
            return;
        };
        let ack = d.ack(seq);
        let bytes = endpoint.send_ack(ack, leg.peer);
        leg.ack = Some(bytes);
    }

    /// A 2xx that matched no transaction: a retransmission to ACK again (§13.2.2.4).
    pub fn stray_2xx(&mut self, endpoint: &mut Endpoint, resp: &Response, peer: Peer) -> bool {
        let Some(call_id) = resp.headers.call_id() else {
            return false;
        };
        let Some(from_tag) = resp
            .headers
            .from()
            .ok()
            .flatten()
            .and_then(|f| f.tag().map(str::to_owned))
        else {
            return false;
        };
        let Some(&id) = self.by_dialog.get(&(call_id.to_owned(), from_tag)) else {
            return false;
        };
        if let Some(bytes) = self.legs.get(&id).and_then(|l| l.ack.clone()) {
            endpoint.resend(peer, bytes, "ACK");
        }
        true
    }

    /// A client transaction failed (Timer B/F or a transport error): a 408 or 503 for
    /// the leg (§8.1.3.1).
    pub fn client_failed(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        tx: ClientTxId,
        timer: Option<Timer>,
    ) -> bool {
        let Some(&id) = self.by_client.get(&tx) else {
            return false;
        };
        let Some(leg) = self.legs.get(&id) else {
            return true;
        };
        if leg.bye_tx == Some(tx) {
            self.finish(id);
            return true;
        }
        if leg.client_tx != Some(tx) {
            // An in-dialog request timed out: §12.2.1.2, the dialog is gone.
            if leg.answered {
                self.report(
                    id,
                    CallEvent::Release(Release {
                        cause: Cause::user(Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
                        initiator: Initiator::Gateway,
                        sip_status: Some(408),
                    }),
                );
                self.bye(now, endpoint, id, None);
            }
            return true;
        }
        let status = if timer.is_some() { 408 } else { 503 };
        if let Some(event) = invite_response_to_event(InviteResponseIn {
            status,
            offer_sent: leg.offer_in_invite,
            ..Default::default()
        }) {
            let event = match event {
                CallEvent::Release(mut r) => {
                    r.initiator = Initiator::Gateway;
                    CallEvent::Release(r)
                }
                e => e,
            };
            if !leg.released {
                self.report(id, event);
            }
        }
        self.finish(id);
        true
    }

    /// The earliest deadline of the legs' own timers (2xx retransmission).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.legs.values().filter_map(Leg::poll_timeout).min()
    }

    /// Fires the legs' timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        let mut due: Vec<LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.poll_timeout().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        // A fixed order, so runs on simulated time repeat exactly.
        due.sort_unstable();
        for id in due {
            self.retransmit_timeout(now, endpoint, id);
            self.reliable_timeout(now, endpoint, id);
            self.session_timeout(now, endpoint, id);
        }
    }

    /// Reliable provisionals: retransmit, or give up (RFC 3262 §3).
    fn reliable_timeout(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(rel) = leg.rel_uas.as_mut() else {
            return;
        };
        rel.handle_timeout(now);
        let mut gave_up = false;
        while let Some(o) = rel.poll_output() {
            match o {
                UasOutput::Transmit(r) => {
                    if let Some(tx) = leg.server_tx {
                        endpoint.retransmit_response(now, tx, r);
                    }
                }
                UasOutput::GaveUp => gave_up = true,
            }
        }
        if gave_up {
            self.prack_timeout(now, endpoint, id);
        }
    }

    /// The session timer and the glare retry.
    fn session_timeout(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let glare = leg.glare_retry.is_some_and(|t| t <= now);
        if glare {
            leg.glare_retry = None;
        }
        match leg.session.as_mut().and_then(|s| s.handle_timeout(now)) {
            Some(Due::Expired) => self.session_expired(now, endpoint, id),
            Some(Due::Refresh) => self.refresh(now, endpoint, id),
            None if glare => self.refresh(now, endpoint, id),
            None => {}
        }
    }

    /// The 2xx retransmission until the ACK (§13.3.1.4).
    fn retransmit_timeout(&mut self, now: Instant, endpoint: &mut Endpoint, id: LegId) {
        let mut timed_out = false;
        if let Some(leg) = self.legs.get_mut(&id)
            && let Some((rt, resp)) = leg.retransmit.as_mut()
        {
            rt.handle_timeout(now);
            while let Some(o) = rt.poll_output() {
                match o {
                    TxOutput::Transmit(_) => {
                        if let Some(tx) = leg.server_tx {
                            endpoint.retransmit_response(now, tx, resp.clone());
                        }
                    }
                    TxOutput::Timeout(_) => timed_out = true,
                    _ => {}
                }
            }
            if rt.is_done() {
                leg.retransmit = None;
            }
        }
        if timed_out {
            self.no_ack(now, endpoint, id);
        }
    }
}

/// The digit and duration of an `application/dtmf-relay` INFO body (`Signal=5`,
/// `Duration=160`), the de-facto format of Cisco and most SIP trunks.
fn dtmf_relay_digit(body: &[u8]) -> Option<(char, u32)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut digit = None;
    let mut duration = 0;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "signal" => {
                digit = v
                    .trim()
                    .chars()
                    .next()
                    .filter(|c| {
                        c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D' | 'a'..='d')
                    })
                    .map(|c| c.to_ascii_uppercase())
            }
            "duration" => duration = v.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    digit.map(|d| (d, duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(
            dtmf_relay_digit(b"Signal=5\r\nDuration=160\r\n"),
            Some(('5', 160))
        );
        assert_eq!(
            dtmf_relay_digit(b"signal= #\nduration=100"),
            Some(('#', 100))
        );
        assert_eq!(dtmf_relay_digit(b"Signal=x\r\n"), None);
        assert_eq!(dtmf_relay_digit(b"\xff"), None);
    }
}
