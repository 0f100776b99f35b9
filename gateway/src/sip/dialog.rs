//! SIP dialogs (RFC 3261 §12): the state two user agents share after an INVITE — the
//! dialog ID, the route set, the remote target and both CSeq spaces — and the requests
//! built from it. Pure data and functions; the transactions carry them.
//!
//! ```text
//!            1xx with To tag        2xx
//!   (none) ----------------> Early -----> Confirmed --BYE / error--> Terminated
//!      \_______________________2xx______/^
//! ```

use crate::sip::message::{Contact, Method, NameAddr, Request, Response, Uri};

/// The dialog ID (§12): Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// Dialog state (§12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, or a non-2xx final for an early dialog).
    Terminated,
}

/// Why a dialog cannot be made or a request does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// A header needed to build the dialog is missing or unreadable.
    #[error("{0} missing or malformed")]
    Header(&'static str),
    /// The response carries no To tag, so it cannot make a dialog (§12.1).
    #[error("response has no To tag")]
    NoToTag,
    /// An in-dialog request with a CSeq lower than the last one (§12.2.2: 500).
    #[error("CSeq {got} is lower than the dialog's {last}")]
    OutOfOrder {
        /// The request's CSeq.
        got: u32,
        /// The last remote CSeq.
        last: u32,
    },
}

impl DialogError {
    /// The response a UAS sends for this error in an incoming request.
    pub fn status(&self) -> u16 {
        match self {
            DialogError::OutOfOrder { .. } => 500,
            DialogError::Header(_) | DialogError::NoToTag => 400,
        }
    }
}

/// One dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    /// The ID.
    pub id: DialogId,
    /// The state.
    pub state: DialogState,
    /// Our URI (From when we are the UAC, To when the UAS), without tag.
    pub local_uri: NameAddr,
    /// The peer's URI, without tag.
    pub remote_uri: NameAddr,
    /// Our last CSeq number; `None` until we send a request (UAS).
    pub local_seq: Option<u32>,
    /// The peer's last CSeq number; `None` until it sends one (UAC).
    pub remote_seq: Option<u32>,
    /// Where in-dialog requests go (the peer's Contact).
    pub remote_target: Uri,
    /// The route set, in the order our requests carry it.
    pub route_set: Vec<NameAddr>,
    /// Our Contact, put in our in-dialog requests.
    pub local_contact: NameAddr,
}

fn tag_of(a: &NameAddr) -> Option<String> {
    a.tag().map(str::to_owned)
}

fn without_tag(mut a: NameAddr) -> NameAddr {
    a.params.remove("tag");
    a
}

fn first_contact(contacts: Vec<Contact>) -> Option<Uri> {
    contacts.into_iter().find_map(|c| match c {
        Contact::Addr(a) => Some(a.uri),
        Contact::Star => None,
    })
}

impl Dialog {
    /// The UAS side (§12.1.1): from the received INVITE and the response we send with
    /// our To tag (1xx makes an early dialog, 2xx a confirmed one).
    pub fn uas(
        req: &Request,
        resp: &Response,
        local_contact: NameAddr,
    ) -> Result<Dialog, DialogError> {
        let h = &req.headers;
        let from = h.from().ok().flatten().ok_or(DialogError::Header("From"))?;
        let to = resp
            .headers
            .to()
            .ok()
            .flatten()
            .ok_or(DialogError::Header("To"))?;
        let local_tag = tag_of(&to).ok_or(DialogError::NoToTag)?;
        let remote_tag = tag_of(&from).unwrap_or_default();
        let call_id = h
            .call_id()
            .ok_or(DialogError::Header("Call-ID"))?
            .to_owned();
        let cseq = h.cseq().ok().flatten().ok_or(DialogError::Header("CSeq"))?;
        let remote_target =
            first_contact(h.contacts().map_err(|_| DialogError::Header("Contact"))?)
                .ok_or(DialogError::Header("Contact"))?;
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            state: if resp.status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            local_seq: None,
            remote_seq: Some(cseq.seq),
            remote_target,
            // §12.1.1: Record-Route of the request, in order.
            route_set: h
                .record_routes()
                .map_err(|_| DialogError::Header("Record-Route"))?,
            local_contact,
        })
    }

    /// The UAC side (§12.1.2): from the INVITE we sent and a response with a To tag.
    pub fn uac(req: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        let rh = &resp.headers;
        let from = req
            .headers
            .from()
            .ok()
            .flatten()
            .ok_or(DialogError::Header("From"))?;
        let to = rh.to().ok().flatten().ok_or(DialogError::Header("To"))?;
        let remote_tag = tag_of(&to).ok_or(DialogError::NoToTag)?;
        let local_tag = tag_of(&from).ok_or(DialogError::Header("From tag"))?;
        let call_id = req
            .headers
            .call_id()
            .ok_or(DialogError::Header("Call-ID"))?
            .to_owned();
        let cseq = req
            .headers
            .cseq()
            .ok()
            .flatten()
            .ok_or(DialogError::Header("CSeq"))?;
        let remote_target =
            first_contact(rh.contacts().map_err(|_| DialogError::Header("Contact"))?)
                .ok_or(DialogError::Header("Contact"))?;
        let local_contact = req
            .headers
            .contacts()
            .ok()
            .and_then(|c| {
                c.into_iter().find_map(|c| match c {
                    Contact::Addr(a) => Some(a),
                    Contact::Star => None,
                })
            })
            .ok_or(DialogError::Header("Contact"))?;
        // §12.1.2: Record-Route of the response, reversed.
        let mut route_set = rh
            .record_routes()
            .map_err(|_| DialogError::Header("Record-Route"))?;
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            state: if resp.status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            local_seq: Some(cseq.seq),
            remote_seq: None,
            remote_target,
            route_set,
            local_contact,
        })
    }

    /// A 2xx arrived or went out for the dialog's INVITE: the dialog is confirmed; a
    /// UAC takes the 2xx's Contact and Record-Route (§12.1.2, §13.2.2.4).
    pub fn confirm(&mut self) {
        if self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
    }

    /// Ends the dialog.
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// Checks an incoming in-dialog request's CSeq (§12.2.2) and, for a target refresh
    /// (re-INVITE, UPDATE), takes its Contact as the new remote target.
    pub fn receive(&mut self, req: &Request) -> Result<(), DialogError> {
        let cseq = req
            .headers
            .cseq()
            .ok()
            .flatten()
            .ok_or(DialogError::Header("CSeq"))?;
        // ACK and CANCEL carry the CSeq of the request they belong to.
        if !matches!(req.method, Method::Ack | Method::Cancel) {
            if let Some(last) = self.remote_seq
                && cseq.seq < last
            {
                return Err(DialogError::OutOfOrder {
                    got: cseq.seq,
                    last,
                });
            }
            self.remote_seq = Some(cseq.seq);
        }
        if matches!(req.method, Method::Invite | Method::Update)
            && let Ok(contacts) = req.headers.contacts()
            && let Some(target) = first_contact(contacts)
        {
            self.remote_target = target;
        }
        Ok(())
    }

    /// A new in-dialog request (§12.2.1.1), with the next local CSeq. Not for ACK (see
    /// [`Dialog::ack`]) nor CANCEL (built from the INVITE).
    pub fn request(&mut self, method: Method) -> Request {
        let seq = self
            .local_seq
            .map_or(1, |s| s.wrapping_add(1) & 0x7FFF_FFFF);
        self.local_seq = Some(seq);
        self.build(method, seq)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (§13.2.2.4).
    pub fn ack(&self, invite_seq: u32) -> Request {
        self.build(Method::Ack, invite_seq)
    }

    fn build(&self, method: Method, seq: u32) -> Request {
        // §12.2.1.1 loose routing: Request-URI is the remote target and the route set
        // goes in Route; a strict first hop (no `lr`) takes the Request-URI instead and
        // the remote target goes last in Route.
        let strict = self
            .route_set
            .first()
            .is_some_and(|r| r.uri.as_sip().is_some_and(|u| !u.lr()));
        let (uri, routes) = if strict {
            let mut routes: Vec<NameAddr> = self.route_set[1..].to_vec();
            routes.push(NameAddr::new(self.remote_target.clone()));
            (self.route_set[0].uri.clone(), routes)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let mut from = self.local_uri.clone();
        from.set_tag(&self.id.local_tag);
        let mut to = self.remote_uri.clone();
        if !self.id.remote_tag.is_empty() {
            to.set_tag(&self.id.remote_tag);
        }
        let mut r = Request::new(method.clone(), uri);
        r.headers.set_route(&routes);
        r.headers.push("Max-Forwards", "70");
        r.headers.push("From", &from.to_string());
        r.headers.push("To", &to.to_string());
        r.headers.push("Call-ID", &self.id.call_id);
        r.headers.push("CSeq", &format!("{seq} {method}"));
        if !matches!(method, Method::Ack | Method::Bye) {
            r.headers.push("Contact", &self.local_contact.to_string());
        }
        r.headers.push("Content-Length", "0");
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::SipMessage;

    fn parse_req(text: &str) -> Request {
        match SipMessage::parse(text.as_bytes()).expect("test message parses") {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("not a request"),
        }
    }

    fn invite() -> Request {
        parse_req(
            "INVITE sip:1000@gw.test SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKp1\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKa1\r\n\
             Record-Route: <sip:p2.test;lr>, <sip:p1.test;lr>\r\n\
             Max-Forwards: 69\r\n\
             From: \"Bob\" <sip:2000@a.test>;tag=bt\r\n\
             To: <sip:1000@gw.test>\r\n\
             Call-ID: d1\r\n\
             CSeq: 7 INVITE\r\n\
             Contact: <sip:2000@127.0.0.1:5062>\r\n\
             Content-Length: 0\r\n\r\n",
        )
    }

    fn gw_contact() -> NameAddr {
        NameAddr::parse("<sip:gw@127.0.0.1:5060>").expect("contact")
    }

    #[test]
    fn uas_dialog_and_its_bye() {
        let req = invite();
        let ok = Response::for_request(&req, 200, "OK").with_to_tag("gwt");
        let mut d = Dialog::uas(&req, &ok, gw_contact()).expect("dialog");
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(
            d.id,
            DialogId {
                call_id: "d1".into(),
                local_tag: "gwt".into(),
                remote_tag: "bt".into()
            }
        );
        let bye = d.request(Method::Bye);
        assert_eq!(bye.uri.to_string(), "sip:2000@127.0.0.1:5062");
        // Route set of the request, in order (§12.1.1).
        let routes: Vec<String> = bye
            .headers
            .routes()
            .expect("routes")
            .iter()
            .map(|r| r.uri.to_string())
            .collect();
        assert_eq!(routes, ["sip:p2.test;lr", "sip:p1.test;lr"]);
        assert_eq!(bye.headers.cseq().expect("cseq").expect("cseq").seq, 1);
        let from = bye.headers.from().expect("from").expect("from");
        assert_eq!(from.tag(), Some("gwt"));
        let to = bye.headers.to().expect("to").expect("to");
        assert_eq!(to.tag(), Some("bt"));
        assert_eq!(
            d.request(Method::Info)
                .headers
                .cseq()
                .expect("cseq")
                .expect("cseq")
                .seq,
            2
        );
    }

    #[test]
    fn incoming_cseq_order_and_target_refresh() {
        let req = invite();
        let ok = Response::for_request(&req, 200, "OK").with_to_tag("gwt");
        let mut d = Dialog::uas(&req, &ok, gw_contact()).expect("dialog");
        let reinvite = parse_req(
            "INVITE sip:gw@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr\r\n\
             From: <sip:2000@a.test>;tag=bt\r\n\
             To: <sip:1000@gw.test>;tag=gwt\r\n\
             Call-ID: d1\r\nCSeq: 8 INVITE\r\n\
             Contact: <sip:2000@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n",
        );
        d.receive(&reinvite).expect("in order");
        assert_eq!(d.remote_target.to_string(), "sip:2000@127.0.0.1:5070");
        let old = parse_req(
            "BYE sip:gw@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb\r\n\
             From: <sip:2000@a.test>;tag=bt\r\n\
             To: <sip:1000@gw.test>;tag=gwt\r\n\
             Call-ID: d1\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
        );
        let err = d.receive(&old).expect_err("lower CSeq");
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn uac_dialog_reverses_record_route_and_acks_with_the_invite_cseq() {
        let uri = Uri::parse("sip:1000@127.0.0.1:5062").expect("uri");
        let req = Request::new(Method::Invite, uri)
            .with_header("From", "<sip:gw@gw.test>;tag=gwf")
            .with_header("To", "<sip:1000@127.0.0.1>")
            .with_header("Call-ID", "u1")
            .with_header("CSeq", "101 INVITE")
            .with_header("Contact", "<sip:gw@127.0.0.1:5060>");
        let mut early = Response::for_request(&req, 180, "Ringing").with_to_tag("pt");
        early
            .headers
            .push("Record-Route", "<sip:p1.test;lr>, <sip:p2.test;lr>");
        early.headers.push("Contact", "<sip:1000@127.0.0.1:5062>");
        let mut d = Dialog::uac(&req, &early).expect("early dialog");
        assert_eq!(d.state, DialogState::Early);
        assert_eq!(
            d.route_set
                .iter()
                .map(|r| r.uri.to_string())
                .collect::<Vec<_>>(),
            ["sip:p2.test;lr", "sip:p1.test;lr"]
        );
        d.confirm();
        assert_eq!(d.state, DialogState::Confirmed);
        let ack = d.ack(101);
        assert_eq!(ack.headers.cseq().expect("cseq").expect("cseq").seq, 101);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(
            d.request(Method::Bye)
                .headers
                .cseq()
                .expect("c")
                .expect("c")
                .seq,
            102
        );
        // No To tag, no dialog.
        let plain = Response::for_request(&req, 180, "Ringing");
        assert_eq!(Dialog::uac(&req, &plain), Err(DialogError::NoToTag));
    }

    #[test]
    fn strict_first_route_takes_the_request_uri() {
        let req = invite();
        let ok = Response::for_request(&req, 200, "OK").with_to_tag("gwt");
        let mut d = Dialog::uas(&req, &ok, gw_contact()).expect("dialog");
        d.route_set = vec![NameAddr::parse("<sip:strict.test>").expect("route")];
        let bye = d.request(Method::Bye);
        assert_eq!(bye.uri.to_string(), "sip:strict.test");
        let routes = bye.headers.routes().expect("routes");
        assert_eq!(
            routes.last().map(|r| r.uri.to_string()).as_deref(),
            Some("sip:2000@127.0.0.1:5062")
        );
    }
}
