//! The SIP side of the load tool: one UAC and one UAS on two UDP sockets, one thread.
//!
//! Call `i` is an INVITE from the UAC to `PREFIX i` at the gateway, with an offer naming
//! the caller's RTP socket; the gateway routes it back to the UAS (a SIP trunk whose
//! remote is the UAS socket), which answers at once (100, 180, 200 with an answer naming
//! the callee's RTP socket). From the two SDPs the tool learns the relay's side A (in
//! the gateway's 200 to the UAC: where the caller sends) and side B (in the gateway's
//! INVITE to the UAS: where the callee sends). The UAC ends every call with BYE.
//!
//! Transactions over UDP as RFC 3261 §17 asks of a UA: INVITE retransmitted on Timer A
//! until a provisional response, ACK for 2xx (new transaction, to the Contact) and for
//! failures (same branch), BYE retransmitted until answered, the UAS's 2xx
//! retransmitted until its ACK, retransmitted requests answered with the same response.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::sip::{self, Dialog, Message};

/// RFC 3261 T1 and T2.
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
/// 64 x T1: a transaction that has heard nothing by then has failed.
const TIMER_B: Duration = Duration::from_secs(32);

/// One established call as the media side needs it.
#[derive(Debug)]
pub struct CallMedia {
    /// Where the caller sends (the relay's side A).
    pub a_dst: SocketAddr,
    /// Where the callee sends (the relay's side B).
    pub b_dst: SocketAddr,
    /// The caller's RTP socket (named in the offer).
    pub a_sock: UdpSocket,
    /// The callee's RTP socket (named in the answer).
    pub b_sock: UdpSocket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UacState {
    NotStarted,
    Inviting,
    Established,
    Byeing,
    Ended,
    Failed,
}

#[derive(Debug)]
struct UacCall {
    state: UacState,
    dialog: Dialog,
    /// Transaction text and target for retransmission.
    pending: Option<(String, SocketAddr)>,
    retx_at: Option<Instant>,
    retx_every: Duration,
    /// While in Inviting/Byeing: when the transaction gives up.
    give_up: Option<Instant>,
    provisional: bool,
    ack: Option<(String, SocketAddr)>,
    invited_at: Option<Instant>,
    answered_at: Option<Instant>,
    sock: Option<UdpSocket>,
    a_dst: Option<SocketAddr>,
    /// Index of the UAS call that belongs to this one.
    uas: Option<usize>,
}

#[derive(Debug)]
struct UasCall {
    index: usize,
    to_tag: String,
    sdp: String,
    /// The last final response to the INVITE, resent on a retransmitted INVITE.
    final_response: String,
    invite_branch: String,
    peer: SocketAddr,
    acked: bool,
    retx_at: Option<Instant>,
    retx_every: Duration,
    sock: Option<UdpSocket>,
    b_dst: Option<SocketAddr>,
    ended: bool,
}

/// What setting up and ending calls gave.
#[derive(Debug, Default, Clone)]
pub struct SipFigures {
    /// Calls asked for.
    pub attempted: usize,
    /// Calls with both sides known.
    pub established: usize,
    /// Calls refused, timed out, or whose far side never arrived.
    pub failed: usize,
    /// INVITE sent -> 200 received at the UAC, milliseconds.
    pub setup_ms: Vec<f64>,
    /// Calls ended with a 2xx (or 481) to the BYE.
    pub ended: usize,
    /// BYEs that timed out.
    pub bye_failed: usize,
    /// SIP datagrams the tool could not parse or place.
    pub stray: u64,
}

/// One UAC and one UAS.
pub struct SipAgent {
    uac: UdpSocket,
    uas: UdpSocket,
    gateway: SocketAddr,
    prefix: String,
    run_id: u32,
    media_ip: std::net::IpAddr,
    calls: Vec<UacCall>,
    uas_calls: Vec<UasCall>,
    uas_by_call_id: HashMap<String, usize>,
    by_call_id: HashMap<String, usize>,
    branch_seq: u64,
    buf: Vec<u8>,
    /// Caller and callee sockets shared by every call (`share_media_sockets`).
    shared: Option<(UdpSocket, UdpSocket)>,
    /// Figures so far.
    pub figures: SipFigures,
}

impl SipAgent {
    /// Binds the UAC and UAS sockets (port 0: any) toward the gateway's SIP address.
    /// Called numbers are `prefix` followed by the call's index.
    pub fn bind(
        uac: SocketAddr,
        uas: SocketAddr,
        gateway: SocketAddr,
        prefix: &str,
    ) -> io::Result<SipAgent> {
        let uac = UdpSocket::bind(uac)?;
        let uas = UdpSocket::bind(uas)?;
        for s in [&uac, &uas] {
            s.set_nonblocking(true)?;
        }
        let media_ip = uac.local_addr()?.ip();
        let run_id = std::process::id()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()));
        Ok(SipAgent {
            uac,
            uas,
            gateway,
            prefix: prefix.to_owned(),
            run_id,
            media_ip,
            calls: Vec::new(),
            uas_calls: Vec::new(),
            uas_by_call_id: HashMap::new(),
            by_call_id: HashMap::new(),
            branch_seq: 0,
            buf: vec![0; 65_536],
            shared: None,
            figures: SipFigures::default(),
        })
    }

    /// From now on every call's caller uses one socket and every callee another (both
    /// named in every SDP): the relay still has its own sockets per call, the tool reads
    /// two sockets instead of two per call (cheaper, so the tool's own cost does not cap
    /// the load). Calls are told apart by the stream id in the payload.
    pub fn share_media_sockets(&mut self) -> io::Result<()> {
        let a = crate::media::bind_big(SocketAddr::new(self.media_ip, 0))?;
        let b = crate::media::bind_big(SocketAddr::new(self.media_ip, 0))?;
        self.shared = Some((a, b));
        Ok(())
    }

    fn media_socket(&self, callee: bool) -> io::Result<UdpSocket> {
        match &self.shared {
            Some((a, b)) => {
                if callee {
                    b.try_clone()
                } else {
                    a.try_clone()
                }
            }
            None => UdpSocket::bind(SocketAddr::new(self.media_ip, 0)),
        }
    }

    /// The UAC's address (the gateway's ingress trunk names it).
    pub fn uac_addr(&self) -> SocketAddr {
        self.uac
            .local_addr()
            .expect("a bound socket has an address")
    }

    /// The UAS's address (the gateway's egress trunk names it).
    pub fn uas_addr(&self) -> SocketAddr {
        self.uas
            .local_addr()
            .expect("a bound socket has an address")
    }

    fn branch(&mut self) -> String {
        self.branch_seq += 1;
        format!("z9hG4bK-rl{:x}-{}", self.run_id, self.branch_seq)
    }

    /// Sets up `n` calls at `cps` calls per second with at most `in_flight` unanswered
    /// at once; returns when every call is established or failed, or after `timeout`.
    /// The established calls' media sockets are handed out (in call order).
    pub fn setup(
        &mut self,
        n: usize,
        cps: f64,
        in_flight: usize,
        timeout: Duration,
    ) -> io::Result<Vec<CallMedia>> {
        let first = self.calls.len();
        for i in first..first + n {
            let call_id = format!("rl-{:x}-{i}@rtp-load", self.run_id);
            let target = format!("sip:{}{i}@{}", self.prefix, self.gateway);
            self.calls.push(UacCall {
                state: UacState::NotStarted,
                dialog: Dialog {
                    call_id: call_id.clone(),
                    local_uri: format!("sip:load{i}@{}", self.media_ip),
                    local_tag: format!("f{:x}{i}", self.run_id),
                    remote_uri: target.clone(),
                    remote_tag: None,
                    remote_target: target,
                },
                pending: None,
                retx_at: None,
                retx_every: T1,
                give_up: None,
                provisional: false,
                ack: None,
                invited_at: None,
                answered_at: None,
                sock: None,
                a_dst: None,
                uas: None,
            });
            self.by_call_id.insert(call_id, i);
        }
        self.figures.attempted += n;
        let start = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / cps.max(0.001));
        let mut next = first;
        let end = first + n;
        loop {
            let now = Instant::now();
            let outstanding = self.calls[first..next]
                .iter()
                .filter(|c| c.state == UacState::Inviting)
                .count();
            let mut started = outstanding;
            while next < end
                && started < in_flight
                && now >= start + interval * (next - first) as u32
            {
                self.invite(next)?;
                next += 1;
                started += 1;
            }
            self.poll(Duration::from_millis(1))?;
            let settled = self.calls[first..end].iter().enumerate().all(|(k, c)| {
                c.state == UacState::Failed
                    || (c.state == UacState::Established && self.uas_ready(first + k))
            });
            if (next == end && settled) || start.elapsed() > timeout {
                break;
            }
        }
        let mut out = Vec::new();
        for i in first..end {
            let ready = self.calls[i].state == UacState::Established && self.uas_ready(i);
            if !ready {
                if self.calls[i].state != UacState::Failed {
                    self.calls[i].state = UacState::Failed;
                }
                self.figures.failed += 1;
                continue;
            }
            let u = self.calls[i].uas.expect("ready calls have a UAS side");
            let (Some(a_sock), Some(b_sock)) =
                (self.calls[i].sock.take(), self.uas_calls[u].sock.take())
            else {
                self.figures.failed += 1;
                continue;
            };
            self.figures.established += 1;
            out.push(CallMedia {
                a_dst: self.calls[i].a_dst.expect("established calls know side A"),
                b_dst: self.uas_calls[u].b_dst.expect("UAS calls know side B"),
                a_sock,
                b_sock,
            });
        }
        Ok(out)
    }

    fn uas_ready(&self, i: usize) -> bool {
        self.calls[i]
            .uas
            .is_some_and(|u| self.uas_calls[u].b_dst.is_some())
    }

    fn invite(&mut self, i: usize) -> io::Result<()> {
        let sock = self.media_socket(false)?;
        let rtp = sock.local_addr()?;
        let body = sip::sdp(i as u64 + 1, rtp);
        let branch = self.branch();
        let me = self.uac_addr();
        let text = sip::request("INVITE", &self.calls[i].dialog, 1, &branch, me, Some(&body));
        self.uac.send_to(text.as_bytes(), self.gateway)?;
        let now = Instant::now();
        let c = &mut self.calls[i];
        c.sock = Some(sock);
        c.state = UacState::Inviting;
        c.pending = Some((text, self.gateway));
        c.retx_at = Some(now + T1);
        c.retx_every = T1;
        c.give_up = Some(now + TIMER_B);
        c.invited_at = Some(now);
        Ok(())
    }

    /// Ends every established call with BYE; returns when all are answered or after
    /// `timeout`.
    pub fn teardown(&mut self, cps: f64, timeout: Duration) -> io::Result<()> {
        let start = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / cps.max(0.001));
        let todo: Vec<usize> = (0..self.calls.len())
            .filter(|&i| self.calls[i].state == UacState::Established)
            .collect();
        let mut next = 0;
        loop {
            let now = Instant::now();
            while next < todo.len() && now >= start + interval * next as u32 {
                self.bye(todo[next])?;
                next += 1;
            }
            self.poll(Duration::from_millis(1))?;
            let busy = self.calls.iter().any(|c| c.state == UacState::Byeing);
            if (next == todo.len() && !busy) || start.elapsed() > timeout {
                break;
            }
        }
        for c in self
            .calls
            .iter_mut()
            .filter(|c| c.state == UacState::Byeing)
        {
            c.state = UacState::Failed;
            self.figures.bye_failed += 1;
        }
        Ok(())
    }

    fn bye(&mut self, i: usize) -> io::Result<()> {
        let branch = self.branch();
        let me = self.uac_addr();
        let c = &self.calls[i];
        let to = sip::uri_addr(&c.dialog.remote_target).unwrap_or(self.gateway);
        let text = sip::request("BYE", &c.dialog, 2, &branch, me, None);
        self.uac.send_to(text.as_bytes(), to)?;
        let now = Instant::now();
        let c = &mut self.calls[i];
        c.state = UacState::Byeing;
        c.pending = Some((text, to));
        c.retx_at = Some(now + T1);
        c.retx_every = T1;
        c.give_up = Some(now + TIMER_B);
        Ok(())
    }

    /// Serves both sockets for up to `wait` (answers requests, retransmits what is due).
    pub fn poll(&mut self, wait: Duration) -> io::Result<()> {
        let deadline = Instant::now() + wait;
        loop {
            let mut any = false;
            while let Some((n, from)) = recv(&self.uac, &mut self.buf)? {
                any = true;
                let data = self.buf[..n].to_vec();
                self.on_uac(&data, from)?;
            }
            while let Some((n, from)) = recv(&self.uas, &mut self.buf)? {
                any = true;
                let data = self.buf[..n].to_vec();
                self.on_uas(&data, from)?;
            }
            self.timers()?;
            if Instant::now() >= deadline {
                return Ok(());
            }
            if !any {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    fn timers(&mut self) -> io::Result<()> {
        let now = Instant::now();
        for c in self.calls.iter_mut() {
            if let Some(at) = c.retx_at
                && now >= at
            {
                if let Some((text, to)) = &c.pending {
                    self.uac.send_to(text.as_bytes(), *to)?;
                }
                c.retx_every = (c.retx_every * 2).min(T2);
                c.retx_at = Some(now + c.retx_every);
            }
            if let Some(at) = c.give_up
                && now >= at
            {
                c.give_up = None;
                c.retx_at = None;
                match c.state {
                    UacState::Inviting => c.state = UacState::Failed,
                    UacState::Byeing => {
                        c.state = UacState::Failed;
                        self.figures.bye_failed += 1;
                    }
                    _ => {}
                }
            }
        }
        for u in self.uas_calls.iter_mut() {
            if let Some(at) = u.retx_at
                && now >= at
            {
                if u.acked || u.ended {
                    u.retx_at = None;
                    continue;
                }
                self.uas.send_to(u.final_response.as_bytes(), u.peer)?;
                u.retx_every = (u.retx_every * 2).min(T2);
                u.retx_at = Some(now + u.retx_every);
            }
        }
        Ok(())
    }

    /// What arrives on the UAC socket: responses to our INVITEs and BYEs, and the
    /// gateway's requests inside our dialogs.
    fn on_uac(&mut self, data: &[u8], from: SocketAddr) -> io::Result<()> {
        let Some(msg) = Message::parse(data) else {
            self.figures.stray += 1;
            return Ok(());
        };
        let me = self.uac_addr();
        let Some(&i) = msg.call_id().and_then(|c| self.by_call_id.get(c)) else {
            if msg.method.is_some() && !msg.is_request("ACK") {
                let r = sip::response(
                    &msg,
                    481,
                    "Call/Transaction Does Not Exist",
                    Some("x"),
                    me,
                    None,
                );
                self.uac.send_to(r.as_bytes(), from)?;
            }
            self.figures.stray += 1;
            return Ok(());
        };
        if let Some(method) = msg.method.clone() {
            return self.uac_request(i, &method, &msg, from);
        }
        let Some((_, method)) = msg.cseq() else {
            return Ok(());
        };
        let status = msg.status;
        match method {
            "INVITE" => self.uac_invite_response(i, &msg, status),
            "BYE" => {
                let c = &mut self.calls[i];
                if status >= 200 && c.state == UacState::Byeing {
                    c.pending = None;
                    c.retx_at = None;
                    c.give_up = None;
                    if (200..300).contains(&status) || status == 481 {
                        c.state = UacState::Ended;
                        self.figures.ended += 1;
                    } else {
                        c.state = UacState::Failed;
                        self.figures.bye_failed += 1;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn uac_invite_response(&mut self, i: usize, msg: &Message, status: u16) -> io::Result<()> {
        let me = self.uac_addr();
        let now = Instant::now();
        if status < 200 {
            let c = &mut self.calls[i];
            if c.state == UacState::Inviting && !c.provisional {
                // Proceeding: no more retransmissions (§17.1.1.2); Timer C-like limit.
                c.provisional = true;
                c.retx_at = None;
                c.give_up = Some(now + Duration::from_secs(180));
            }
            return Ok(());
        }
        if (200..300).contains(&status) {
            // A retransmitted 2xx: ACK again.
            if let Some((ack, to)) = &self.calls[i].ack {
                if self.calls[i].state != UacState::Inviting {
                    self.uac.send_to(ack.as_bytes(), *to)?;
                    return Ok(());
                }
            }
            let branch = self.branch();
            let c = &mut self.calls[i];
            c.dialog.remote_tag = msg.to_tag().map(str::to_owned);
            if let Some(contact) = msg.contact_uri() {
                c.dialog.remote_target = contact.to_owned();
            }
            let to = sip::uri_addr(&c.dialog.remote_target).unwrap_or(self.gateway);
            let ack = sip::request("ACK", &c.dialog, 1, &branch, me, None);
            self.uac.send_to(ack.as_bytes(), to)?;
            c.ack = Some((ack, to));
            c.pending = None;
            c.retx_at = None;
            c.give_up = None;
            if c.state == UacState::Inviting {
                c.a_dst = sip::sdp_audio_addr(&msg.body);
                c.answered_at = Some(now);
                if let Some(t) = c.invited_at {
                    self.figures
                        .setup_ms
                        .push(now.duration_since(t).as_secs_f64() * 1e3);
                }
                c.state = if c.a_dst.is_some() {
                    UacState::Established
                } else {
                    UacState::Failed
                };
            }
            return Ok(());
        }
        // A failure: ACK on the INVITE's branch (§17.1.1.3), the call has failed.
        let c = &mut self.calls[i];
        if let Some((invite, to)) = c.pending.take() {
            let inv = Message::parse(invite.as_bytes());
            let branch = inv.as_ref().and_then(|m| m.branch()).unwrap_or("z9hG4bK-x");
            let mut d = c.dialog.clone();
            d.remote_tag = msg.to_tag().map(str::to_owned);
            let ack = sip::request("ACK", &d, 1, branch, me, None);
            self.uac.send_to(ack.as_bytes(), to)?;
        }
        c.retx_at = None;
        c.give_up = None;
        if c.state == UacState::Inviting {
            c.state = UacState::Failed;
        }
        Ok(())
    }

    fn uac_request(
        &mut self,
        i: usize,
        method: &str,
        msg: &Message,
        from: SocketAddr,
    ) -> io::Result<()> {
        let me = self.uac_addr();
        let tag = self.calls[i].dialog.local_tag.clone();
        let reply = match method {
            "ACK" => return Ok(()),
            "BYE" => {
                let c = &mut self.calls[i];
                if matches!(c.state, UacState::Established | UacState::Byeing) {
                    c.state = UacState::Ended;
                    c.pending = None;
                    c.retx_at = None;
                    c.give_up = None;
                    self.figures.ended += 1;
                }
                sip::response(msg, 200, "OK", Some(&tag), me, None)
            }
            "INVITE" => {
                // A re-INVITE: answer with the same stream.
                let rtp = self.calls[i]
                    .sock
                    .as_ref()
                    .and_then(|s| s.local_addr().ok());
                match rtp {
                    Some(rtp) => {
                        let body = sip::sdp(i as u64 + 1, rtp);
                        sip::response(msg, 200, "OK", Some(&tag), me, Some(&body))
                    }
                    None => sip::response(msg, 488, "Not Acceptable Here", Some(&tag), me, None),
                }
            }
            _ => sip::response(msg, 200, "OK", Some(&tag), me, None),
        };
        self.uac.send_to(reply.as_bytes(), from)?;
        Ok(())
    }

    /// What arrives on the UAS socket: the gateway's INVITEs for our calls and what
    /// follows in their dialogs.
    fn on_uas(&mut self, data: &[u8], from: SocketAddr) -> io::Result<()> {
        let Some(msg) = Message::parse(data) else {
            self.figures.stray += 1;
            return Ok(());
        };
        let Some(method) = msg.method.clone() else {
            // We send no requests from the UAS.
            return Ok(());
        };
        let me = self.uas_addr();
        let call_id = msg.call_id().unwrap_or_default().to_owned();
        if let Some(&u) = self.uas_by_call_id.get(&call_id) {
            let tag = self.uas_calls[u].to_tag.clone();
            let reply = match method.as_str() {
                "ACK" => {
                    self.uas_calls[u].acked = true;
                    self.uas_calls[u].retx_at = None;
                    return Ok(());
                }
                "INVITE" if msg.branch() == Some(self.uas_calls[u].invite_branch.as_str()) => {
                    // Retransmission of the initial INVITE: the same final response.
                    self.uas_calls[u].final_response.clone()
                }
                "INVITE" => {
                    let body = self.uas_calls[u].sdp.clone();
                    sip::response(&msg, 200, "OK", Some(&tag), me, Some(&body))
                }
                "BYE" => {
                    self.uas_calls[u].ended = true;
                    self.uas_calls[u].retx_at = None;
                    sip::response(&msg, 200, "OK", Some(&tag), me, None)
                }
                "CANCEL" => sip::response(&msg, 200, "OK", Some(&tag), me, None),
                _ => sip::response(&msg, 200, "OK", Some(&tag), me, None),
            };
            self.uas.send_to(reply.as_bytes(), from)?;
            return Ok(());
        }
        if method == "ACK" {
            return Ok(());
        }
        if method != "INVITE" || msg.to_tag().is_some() {
            let code = if method == "OPTIONS" { 200 } else { 481 };
            let r = sip::response(
                &msg,
                code,
                if code == 200 {
                    "OK"
                } else {
                    "Call/Transaction Does Not Exist"
                },
                Some("uas"),
                me,
                None,
            );
            self.uas.send_to(r.as_bytes(), from)?;
            return Ok(());
        }
        // A new call: which of ours is it?
        let index = msg
            .uri_user()
            .or_else(|| {
                msg.header("To").and_then(sip::uri_of).and_then(|u| {
                    u.strip_prefix("sip:")?
                        .split_once('@')
                        .map(|(user, _)| user)
                })
            })
            .and_then(|user| user.strip_prefix(self.prefix.as_str()))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < self.calls.len() && self.calls[i].uas.is_none());
        let Some(index) = index else {
            self.figures.stray += 1;
            let r = sip::response(&msg, 404, "Not Found", Some("uas"), me, None);
            self.uas.send_to(r.as_bytes(), from)?;
            return Ok(());
        };
        let sock = self.media_socket(true)?;
        let rtp = sock.local_addr()?;
        let tag = format!("u{:x}{index}", self.run_id);
        let body = sip::sdp(1_000_000 + index as u64, rtp);
        let trying = sip::response(&msg, 100, "Trying", None, me, None);
        let ringing = sip::response(&msg, 180, "Ringing", Some(&tag), me, None);
        let ok = sip::response(&msg, 200, "OK", Some(&tag), me, Some(&body));
        for r in [&trying, &ringing, &ok] {
            self.uas.send_to(r.as_bytes(), from)?;
        }
        let u = self.uas_calls.len();
        self.uas_calls.push(UasCall {
            index,
            to_tag: tag,
            sdp: body,
            final_response: ok,
            invite_branch: msg.branch().unwrap_or_default().to_owned(),
            peer: from,
            acked: false,
            retx_at: Some(Instant::now() + T1),
            retx_every: T1,
            sock: Some(sock),
            b_dst: sip::sdp_audio_addr(&msg.body),
            ended: false,
        });
        self.uas_by_call_id.insert(call_id, u);
        self.calls[index].uas = Some(u);
        debug_assert_eq!(self.uas_calls[u].index, index);
        Ok(())
    }

    /// Calls whose far side (the UAS) has seen its BYE.
    pub fn uas_ended(&self) -> usize {
        self.uas_calls.iter().filter(|u| u.ended).count()
    }
}

/// One datagram if one is waiting.
fn recv(s: &UdpSocket, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
    match s.recv_from(buf) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        // ICMP port unreachable from an earlier send (Linux reports it on the socket).
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(None),
        Err(e) => Err(e),
    }
}
