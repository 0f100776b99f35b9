//! The stateless SIP answerer that stands in for the SIP leg until it lands, and the
//! answer a draining gateway gives to new requests.
//!
//! Every request but ACK gets `503 Service Unavailable` with `Retry-After` (RFC 3261
//! §21.5.4, §20.33); an ACK is never answered (§17.2.1). A request the parser refuses
//! gets `400 Bad Request` when its start line is recognisable. Answers copy Via, From,
//! To, Call-ID and CSeq from the request and add a To tag (§8.2.6.2); as a stateless UAS
//! (§8.2.7) the tag is derived from the request, so a retransmission gets the same one.
//! Sans-IO: bytes in, an [`Outcome`] out.

use super::sip_head::{Head, Known, StartLine};
use crate::metrics::{SIP_METHODS, SIP_STATUS_CLASSES};
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};

/// `Retry-After` of the 503, in seconds (RFC 3261 §20.33).
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// What to do with one received message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The `type` label of the decoded message, `None` when it did not decode.
    pub received: Option<&'static str>,
    /// Why the message did not decode (counts in `gateway_decode_errors_total`).
    pub decode_error: Option<String>,
    /// The answer to send back.
    pub reply: Option<Reply>,
}

/// An answer to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// The encoded response.
    pub bytes: Vec<u8>,
    /// Its `type` label (status class).
    pub kind: &'static str,
}

/// The stateless answerer.
#[derive(Debug, Default)]
pub struct SipStub {
    /// Keys of the To-tag hash: fixed for the process, unpredictable across runs.
    tag_keys: RandomState,
}

impl SipStub {
    /// A new answerer.
    pub fn new() -> SipStub {
        SipStub::default()
    }

    /// Handles one received message (a whole datagram, or one framed stream message).
    pub fn handle(&self, msg: &[u8]) -> Outcome {
        if msg.iter().all(|b| matches!(b, b'\r' | b'\n')) {
            // A keep-alive (RFC 5626 §4.4.1 on UDP): nothing to count or answer.
            return Outcome::default();
        }
        let Some(head) = Head::scan(msg) else {
            return garbage("head is not UTF-8");
        };
        let body = &msg[head.len..];
        match rsip::SipMessage::try_from(&msg[msg.len() - msg.trim_ascii_start().len()..]) {
            Ok(rsip::SipMessage::Request(req)) => {
                let method = type_label(&req.method.to_string());
                if let Some(why) = invalid_request(&head, body) {
                    return Outcome {
                        received: None,
                        decode_error: Some(why),
                        reply: self.bad_request_head(&head),
                    };
                }
                let reply = (req.method != rsip::Method::Ack).then(|| {
                    self.reply(&head, 503, "Service Unavailable", Some(RETRY_AFTER_SECONDS))
                });
                Outcome {
                    received: Some(method),
                    decode_error: None,
                    reply,
                }
            }
            Ok(rsip::SipMessage::Response(resp)) => Outcome {
                received: Some(status_class(resp.status_code.code())),
                decode_error: None,
                reply: None,
            },
            Err(e) => Outcome {
                received: None,
                decode_error: Some(e.to_string()),
                reply: self.bad_request_head(&head),
            },
        }
    }

    /// `400 Bad Request` for a message head that could not be framed or parsed, when it
    /// is a recognisable request other than ACK.
    pub fn bad_request(&self, head: &[u8]) -> Option<Reply> {
        self.bad_request_head(&Head::scan(head)?)
    }

    fn bad_request_head(&self, head: &Head<'_>) -> Option<Reply> {
        match head.start() {
            StartLine::Request { method } if !method.eq_ignore_ascii_case("ACK") => {
                // Without a Via the client cannot match the answer (§8.1.3.3).
                head.first(Known::Via)?;
                Some(self.reply(head, 400, "Bad Request", None))
            }
            _ => None,
        }
    }

    /// Encodes a response to the request whose head is `head` (RFC 3261 §8.2.6).
    fn reply(&self, head: &Head<'_>, code: u16, reason: &str, retry_after: Option<u32>) -> Reply {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        // `write!` into a String cannot fail.
        let mut field = |name: &str, value: &str| {
            let _ = write!(out, "{name}: {value}\r\n");
        };
        for via in head.values(Known::Via) {
            field("Via", via);
        }
        if let Some(from) = head.first(Known::From) {
            field("From", from);
        }
        if let Some(to) = head.first(Known::To) {
            if has_tag(to) {
                field("To", to);
            } else {
                field("To", &format!("{to};tag={}", self.tag(head)));
            }
        }
        for k in [Known::CallId, Known::CSeq] {
            if let Some(v) = head.first(k) {
                field(k.name(), v);
            }
        }
        if let Some(secs) = retry_after {
            field("Retry-After", &secs.to_string());
        }
        field("Content-Length", "0");
        out.push_str("\r\n");
        Reply {
            bytes: out.into_bytes(),
            kind: status_class(code),
        }
    }

    /// A To tag that is the same for every retransmission of a request (§8.2.7).
    fn tag(&self, head: &Head<'_>) -> String {
        let key = (
            head.first(Known::CallId),
            head.first(Known::From),
            head.first(Known::CSeq),
            head.first(Known::Via),
        );
        format!("{:016x}", self.tag_keys.hash_one(key))
    }
}

/// Why a parsed request cannot be answered normally: a mandatory header is missing
/// (§8.1.1) or the datagram ends before the body does (§18.3).
fn invalid_request(head: &Head<'_>, body: &[u8]) -> Option<String> {
    for k in [
        Known::Via,
        Known::From,
        Known::To,
        Known::CallId,
        Known::CSeq,
    ] {
        if head.first(k).is_none() {
            return Some(format!("missing {}", k.name()));
        }
    }
    match head.content_length() {
        Some(Err(())) => Some("invalid Content-Length".to_owned()),
        Some(Ok(n)) if n > body.len() => Some("body shorter than Content-Length".to_owned()),
        _ => None,
    }
}

/// True when a To/From value carries a `tag` parameter (outside the `<...>` URI).
fn has_tag(value: &str) -> bool {
    let params = value.rsplit_once('>').map_or(value, |(_, p)| p);
    params.split(';').skip(1).any(|p| {
        p.trim()
            .get(..4)
            .is_some_and(|n| n.eq_ignore_ascii_case("tag="))
    })
}

/// The `type` label of a method: its name when known, else `other`.
fn type_label(method: &str) -> &'static str {
    SIP_METHODS
        .iter()
        .find(|t| t.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or("other")
}

/// The `type` label of a status code: its class, `1xx` to `6xx` (RFC 3261 §21).
fn status_class(code: u16) -> &'static str {
    let class = usize::from(code / 100).clamp(1, 6);
    SIP_STATUS_CLASSES[class - 1]
}

fn garbage(why: &str) -> Outcome {
    Outcome {
        received: None,
        decode_error: Some(why.to_owned()),
        reply: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKabc;rport\r\n\
        Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKdef\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:probe@127.0.0.1>;tag=1234\r\n\
        To: <sip:gw@127.0.0.1>\r\n\
        Call-ID: c1@127.0.0.1\r\n\
        CSeq: 7 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";

    fn text(r: &Reply) -> &str {
        std::str::from_utf8(&r.bytes).expect("ascii")
    }

    #[test]
    fn options_gets_503_with_the_transaction_headers() {
        let stub = SipStub::new();
        let out = stub.handle(OPTIONS.as_bytes());
        assert_eq!(out.received, Some("OPTIONS"));
        assert_eq!(out.decode_error, None);
        let reply = out.reply.expect("answered");
        assert_eq!(reply.kind, "5xx");
        let t = text(&reply);
        assert!(t.starts_with("SIP/2.0 503 Service Unavailable\r\n"), "{t}");
        assert!(t.contains(
            "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKabc;rport\r\n\
             Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKdef\r\n"
        ));
        assert!(t.contains("From: <sip:probe@127.0.0.1>;tag=1234\r\n"));
        assert!(t.contains("To: <sip:gw@127.0.0.1>;tag="));
        assert!(t.contains("Call-ID: c1@127.0.0.1\r\nCSeq: 7 OPTIONS\r\n"));
        assert!(t.ends_with("Retry-After: 30\r\nContent-Length: 0\r\n\r\n"));
        // A retransmission gets the same To tag (§8.2.7).
        let again = stub.handle(OPTIONS.as_bytes()).reply.expect("answered");
        assert_eq!(again, reply);
        // And the answer is itself a valid SIP response.
        assert!(matches!(
            rsip::SipMessage::try_from(t),
            Ok(rsip::SipMessage::Response(_))
        ));
    }

    #[test]
    fn existing_to_tag_is_kept() {
        let msg = OPTIONS.replace("To: <sip:gw@127.0.0.1>", "To: <sip:gw@127.0.0.1>;tag=zz");
        let reply = SipStub::new()
            .handle(msg.as_bytes())
            .reply
            .expect("answered");
        assert!(text(&reply).contains("To: <sip:gw@127.0.0.1>;tag=zz\r\n"));
    }

    #[test]
    fn ack_and_responses_are_counted_not_answered() {
        let ack = OPTIONS.replace("OPTIONS", "ACK");
        let out = SipStub::new().handle(ack.as_bytes());
        assert_eq!((out.received, out.reply), (Some("ACK"), None));

        let resp = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
            From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\
            Content-Length: 0\r\n\r\n";
        let out = SipStub::new().handle(resp.as_bytes());
        assert_eq!((out.received, out.reply), (Some("1xx"), None));
    }

    #[test]
    fn garbage_is_a_decode_error_without_answer() {
        for input in [
            &b"\x00\x01\x02hello"[..],
            b"\xff\xff",
            b"hello world\r\n\r\n",
        ] {
            let out = SipStub::new().handle(input);
            assert!(out.decode_error.is_some());
            assert_eq!((out.received, out.reply), (None, None));
        }
        assert_eq!(SipStub::new().handle(b"\r\n\r\n"), Outcome::default());
    }

    #[test]
    fn broken_request_gets_400() {
        let msg = OPTIONS.replace("Call-ID: c1@127.0.0.1\r\n", "");
        let out = SipStub::new().handle(msg.as_bytes());
        assert!(out.decode_error.is_some());
        let reply = out.reply.expect("answered");
        assert_eq!(reply.kind, "4xx");
        assert!(text(&reply).starts_with("SIP/2.0 400 Bad Request\r\n"));

        let short_body = OPTIONS.replace("Content-Length: 0", "Content-Length: 10");
        assert!(
            SipStub::new()
                .handle(short_body.as_bytes())
                .decode_error
                .is_some()
        );
    }

    #[test]
    fn invite_with_body_over_ipv6_gets_503() {
        let invite = "INVITE sip:+4930123456@gw;user=phone SIP/2.0\r\n\
            Via: SIP/2.0/TCP [::1]:5060;branch=z9hG4bK77\r\n\
            From: \"Alice\" <sip:alice@example.com>;tag=1\r\n\
            To: <sip:+4930123456@gw;user=phone>\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\n\
            Contact: <sip:alice@[::1]>\r\nContent-Type: application/sdp\r\n\
            Content-Length: 10\r\n\r\nv=0\r\no=- x\r\n";
        let out = SipStub::new().handle(invite.as_bytes());
        assert_eq!(out.received, Some("INVITE"));
        let reply = out.reply.expect("answered");
        assert!(text(&reply).starts_with("SIP/2.0 503 "));
        assert!(text(&reply).contains("Via: SIP/2.0/TCP [::1]:5060;branch=z9hG4bK77\r\n"));
    }

    #[test]
    fn labels() {
        assert_eq!(type_label("invite"), "INVITE");
        assert_eq!(type_label("PRACK"), "PRACK");
        assert_eq!(type_label("FOO"), "other");
        assert_eq!(status_class(503), "5xx");
        assert!(has_tag("<sip:a@b;tag=x>;TAG=1"));
        assert!(!has_tag("<sip:a@b;tag=x>"));
        assert!(has_tag("sip:a@b;tag=1"));
    }
}
