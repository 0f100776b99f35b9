//! Building and editing messages: responses from requests (RFC 3261 §8.2.6), new
//! requests, and the header edits a proxy or B2BUA does (Via, Route, Record-Route, tags).

use mapping::sip::reason_phrase::reason_phrase_or_class;

use super::headers::Headers;
use super::name_addr::NameAddr;
use super::uri::Uri;
use super::{Method, Request, Response, StatusCode, Version};

/// Headers a response copies from its request (RFC 3261 §8.2.6.2), in this order. A
/// 100 Trying also copies Timestamp (§8.2.6.1).
const COPIED: &[&str] = &["Via", "From", "To", "Call-ID", "CSeq"];

impl Response {
    /// A response with no headers and no body. An empty `reason` takes the standard
    /// phrase for `status` (RFC 3261 §21).
    pub fn new(status: u16, reason: &str) -> Response {
        Response {
            version: Version,
            status: StatusCode(status),
            reason: if reason.is_empty() {
                reason_phrase_or_class(status).to_string()
            } else {
                reason.to_string()
            },
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The response to `req` (RFC 3261 §8.2.6.2): every Via in order, From, To, Call-ID
    /// and CSeq copied as they are (a 100 also copies Timestamp). Add a To tag with
    /// [`Response::with_to_tag`] when the response needs one.
    pub fn for_request(req: &Request, status: u16, reason: &str) -> Response {
        let mut r = Response::new(status, reason);
        for (name, value) in req.headers.iter() {
            if COPIED.iter().any(|c| super::names_match(name, c))
                || (status == 100 && super::names_match(name, "Timestamp"))
            {
                r.headers.push(name, value);
            }
        }
        r
    }

    /// Sets the To tag unless the To already has one (RFC 3261 §8.2.6.2: a tag from the
    /// request is kept).
    pub fn with_to_tag(mut self, tag: &str) -> Response {
        if let Ok(Some(to)) = self.headers.to()
            && to.tag().is_none()
        {
            self.headers.set_to_tag(tag);
        }
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push(name, value);
        self
    }

    /// Sets the body and its Content-Type.
    pub fn with_body(mut self, content_type: &str, body: Vec<u8>) -> Response {
        self.headers.replace("Content-Type", content_type);
        self.body = body;
        self
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            version: Version,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// A request with the headers RFC 3261 §8.1.1 requires, in the usual order: Via (top
    /// value given), Max-Forwards 70, From, To, Call-ID, CSeq `<seq> <method>`.
    pub fn with_dialog_headers(
        method: Method,
        uri: Uri,
        via: &super::Via,
        from: &NameAddr,
        to: &NameAddr,
        call_id: &str,
        cseq: u32,
    ) -> Request {
        let mut r = Request::new(method, uri);
        r.headers.push("Via", &via.to_string());
        r.headers.push("Max-Forwards", "70");
        r.headers.push("From", &from.to_string());
        r.headers.push("To", &to.to_string());
        r.headers.push("Call-ID", call_id);
        let cseq = super::CSeq {
            seq: cseq,
            method: r.method.clone(),
        };
        r.headers.push("CSeq", &cseq.to_string());
        r
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push(name, value);
        self
    }

    /// Sets the body and its Content-Type.
    pub fn with_body(mut self, content_type: &str, body: Vec<u8>) -> Request {
        self.headers.replace("Content-Type", content_type);
        self.body = body;
        self
    }

    /// Decrements Max-Forwards (RFC 3261 §16.6 step 3), adding `70` when absent. Returns
    /// false, leaving it alone, when it is already 0 (the proxy answers 483).
    pub fn decrement_max_forwards(&mut self) -> bool {
        match self.headers.max_forwards() {
            Ok(Some(0)) => false,
            Ok(Some(n)) => {
                self.headers.replace("Max-Forwards", &(n - 1).to_string());
                true
            }
            _ => {
                self.headers.replace("Max-Forwards", "70");
                true
            }
        }
    }
}

impl Headers {
    /// Replaces every Route header by one line holding `routes` (RFC 3261 §12.2.1.1);
    /// none removes Route.
    pub fn set_route(&mut self, routes: &[NameAddr]) {
        self.set_address_list("Route", routes);
    }

    /// Replaces every Record-Route header by one line holding `routes`.
    pub fn set_record_route(&mut self, routes: &[NameAddr]) {
        self.set_address_list("Record-Route", routes);
    }

    /// Adds a Record-Route value on top (a proxy staying in the path, RFC 3261 §16.6
    /// step 4).
    pub fn push_record_route(&mut self, route: &NameAddr) {
        let at = self.position("Record-Route").unwrap_or(self.len());
        self.insert(at, "Record-Route", &route.to_string());
    }

    fn set_address_list(&mut self, name: &str, values: &[NameAddr]) {
        if values.is_empty() {
            self.remove(name);
            return;
        }
        let joined = values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        self.replace(name, &joined);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SipMessage, Via};
    use super::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n\
        v: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710\r\n\
        CSeq: 314159 INVITE\r\n\
        Timestamp: 54\r\n\
        Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
        Content-Length: 0\r\n\r\n";

    fn invite() -> Request {
        match SipMessage::parse(INVITE.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn response_copies_headers_and_tags() {
        let req = invite();
        let r = Response::for_request(&req, 180, "").with_to_tag("314");
        assert_eq!(r.reason, "Ringing");
        let names: Vec<_> = r.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["Via", "v", "To", "f", "Call-ID", "CSeq"]);
        assert_eq!(r.headers.to().unwrap().unwrap().tag(), Some("314"));
        assert_eq!(r.headers.vias().unwrap().len(), 3);
        // A tag already there stays.
        let again = r.clone().with_to_tag("other");
        assert_eq!(again.headers.to().unwrap().unwrap().tag(), Some("314"));
        let trying = Response::for_request(&req, 100, "Trying");
        assert_eq!(trying.headers.get("Timestamp"), Some("54"));
        assert!(trying.headers.to().unwrap().unwrap().tag().is_none());
        let bytes = SipMessage::from(r).to_bytes();
        assert!(SipMessage::parse(&bytes).unwrap().validate().is_ok());
    }

    #[test]
    fn new_requests_and_edits() {
        let from = NameAddr::parse("\"Gateway\" <sip:+4930@gw.example>;tag=a1").unwrap();
        let to = NameAddr::new(Uri::parse("tel:+4940").unwrap());
        let via = Via::new(
            "UDP",
            super::super::Host::Name("gw.example".into()),
            None,
            "z9hG4bKq",
        );
        let mut req = Request::with_dialog_headers(
            Method::Invite,
            Uri::parse("sip:+4940@peer.example;user=phone").unwrap(),
            &via,
            &from,
            &to,
            "cid@gw",
            1,
        )
        .with_header("Contact", "<sip:gw.example>")
        .with_body("application/sdp", b"v=0\r\n".to_vec());
        let m = SipMessage::from(req.clone());
        let back = SipMessage::parse(&m.to_bytes()).unwrap();
        back.validate().unwrap();
        assert_eq!(back.headers().content_length().unwrap(), Some(5));
        assert!(req.decrement_max_forwards());
        assert_eq!(req.headers.max_forwards().unwrap(), Some(69));
        req.headers.replace("Max-Forwards", "0");
        assert!(!req.decrement_max_forwards());
        let r1 = NameAddr::parse("<sip:p1.example;lr>").unwrap();
        let r2 = NameAddr::parse("<sip:p2.example;lr>").unwrap();
        req.headers.set_route(&[r1.clone(), r2.clone()]);
        assert_eq!(
            req.headers.get("Route"),
            Some("<sip:p1.example;lr>, <sip:p2.example;lr>")
        );
        req.headers.set_route(&[]);
        assert!(!req.headers.contains("Route"));
        req.headers.set_record_route(&[r2]);
        req.headers.push_record_route(&r1);
        assert_eq!(req.headers.record_routes().unwrap().len(), 2);
        assert_eq!(req.headers.record_routes().unwrap()[0], r1);
    }
}
