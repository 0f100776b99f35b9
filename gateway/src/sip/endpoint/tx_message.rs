//! The two messages a transaction builds on its own, for real SIP messages.

use crate::sip::message::{Method, Request, Response, SipMessage};
use crate::sip::transaction::TransactionMessage;

impl TransactionMessage for SipMessage {
    /// RFC 3261 §17.1.1.3: Request-URI, Call-ID, From, CSeq number and the top Via of the
    /// INVITE; To of the response; the INVITE's Route headers; CSeq method ACK.
    fn ack_for(request: &Self, response: &Self) -> Self {
        let (Some(req), Some(resp)) = (request.as_request(), response.as_response()) else {
            // The transaction only pairs its INVITE with a response it received.
            return request.clone();
        };
        ack_for(req, resp).into()
    }

    /// RFC 3261 §8.2.6.1/§17.2.1: 100 Trying with the request's Via, From, To, Call-ID,
    /// CSeq and Timestamp.
    fn trying_for(request: &Self) -> Self {
        match request.as_request() {
            Some(req) => Response::for_request(req, 100, "Trying").into(),
            // A server transaction is only ever created for a request.
            None => request.clone(),
        }
    }
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3).
pub fn ack_for(req: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, req.uri.clone());
    if let Some((name, value)) = req
        .headers
        .iter()
        .find(|(n, _)| crate::sip::message::names_match(n, "Via"))
    {
        // Only the top Via value: a header line may hold several, comma-separated.
        let top = crate::sip::message::split_list(value)
            .next()
            .unwrap_or(value);
        ack.headers.push(name, top);
    }
    for v in req.headers.get_all("Route") {
        ack.headers.push("Route", v);
    }
    ack.headers.push("Max-Forwards", "70");
    copy(&req.headers, &mut ack.headers, "From");
    copy(&resp.headers, &mut ack.headers, "To");
    copy(&req.headers, &mut ack.headers, "Call-ID");
    if let Ok(Some(cseq)) = req.headers.cseq() {
        ack.headers.push("CSeq", &format!("{} ACK", cseq.seq));
    }
    ack.headers.push("Content-Length", "0");
    ack
}

fn copy(from: &crate::sip::message::Headers, to: &mut crate::sip::message::Headers, name: &str) {
    if let Some(v) = from.get(name) {
        to.push(name, v);
    }
}
