//! SIP messages (RFC 3261 §7, §20, §25): parsing, typed header access, serialisation.
//!
//! Sans-IO and liberal in what it accepts (compact forms, LF-only lines, folded values,
//! unknown methods, headers and URI schemes), strict in what it sends (CRLF, one value
//! per line as given, exact Content-Length).
//!
//! - [`parse`](SipMessage::parse) takes one datagram (or one framed stream message);
//!   [`validate`](SipMessage::validate) adds the checks a transaction layer needs before
//!   it takes a message (mandatory headers, single-valued headers, scalar ranges).
//! - Typed views live on [`Headers`]: [`vias`](Headers::vias), [`from`](Headers::from),
//!   [`cseq`](Headers::cseq), [`contacts`](Headers::contacts), ...
//! - [`to_bytes`](SipMessage::to_bytes) writes the canonical form.

mod auth;
mod build;
mod error;
mod headers;
mod name_addr;
mod parse;
mod syntax;
mod typed;
mod uri;
mod validate;
mod via;
mod write;

use core::fmt;

pub use auth::AuthValue;
pub use error::{ErrorKind, ParseError};
pub use headers::{COMPACT_FORMS, Headers, canonical_name, names_match};
pub use name_addr::{Contact, NameAddr, split_list};
pub use parse::Limits;
pub use syntax::{Param, Params, quote, unquote};
pub use typed::{CSEQ_MAX, CSeq, MediaType, RAck, RetryAfter, SessionExpires};
pub use uri::{Host, SipUri, TelUri, Uri, percent_decode};
pub use via::{MAGIC_COOKIE, Via};

/// A SIP method: the mapping crate's open enum (RFC 3261 §7.1: case-sensitive; unknown
/// tokens are `Other`).
pub use mapping::sip::SipMethod as Method;

/// The protocol version of a start line. Only SIP/2.0 is accepted on input (anything
/// else is [`ErrorKind::Version`], answered with 505).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Version;

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SIP/2.0")
    }
}

/// A status code (RFC 3261 §7.2: three digits, 100-699).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// 100 Trying.
    pub const TRYING: StatusCode = StatusCode(100);
    /// 180 Ringing.
    pub const RINGING: StatusCode = StatusCode(180);
    /// 183 Session Progress.
    pub const SESSION_PROGRESS: StatusCode = StatusCode(183);
    /// 200 OK.
    pub const OK: StatusCode = StatusCode(200);
    /// 400 Bad Request.
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// 401 Unauthorized.
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    /// 407 Proxy Authentication Required.
    pub const PROXY_AUTHENTICATION_REQUIRED: StatusCode = StatusCode(407);
    /// 416 Unsupported URI Scheme.
    pub const UNSUPPORTED_URI_SCHEME: StatusCode = StatusCode(416);
    /// 420 Bad Extension.
    pub const BAD_EXTENSION: StatusCode = StatusCode(420);
    /// 422 Session Interval Too Small (RFC 4028).
    pub const SESSION_INTERVAL_TOO_SMALL: StatusCode = StatusCode(422);
    /// 481 Call/Transaction Does Not Exist.
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    /// 483 Too Many Hops.
    pub const TOO_MANY_HOPS: StatusCode = StatusCode(483);
    /// 487 Request Terminated.
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    /// 491 Request Pending.
    pub const REQUEST_PENDING: StatusCode = StatusCode(491);
    /// 500 Server Internal Error.
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    /// 503 Service Unavailable.
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    /// 505 Version Not Supported.
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);

    /// The standard reason phrase (RFC 3261 §21 and extensions), from the mapping
    /// crate's table.
    pub fn reason_phrase(self) -> Option<&'static str> {
        mapping::sip::reason_phrase(self.0)
    }

    /// 1xx.
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx-6xx.
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// The class digit (1-6).
    pub fn class(self) -> u16 {
        self.0 / 100
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A request (RFC 3261 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Version.
    pub version: Version,
    /// Headers.
    pub headers: Headers,
    /// Body (Content-Length bytes).
    pub body: Vec<u8>,
}

/// A response (RFC 3261 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Version.
    pub version: Version,
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase (UTF-8, may be empty).
    pub reason: String,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Vec<u8>,
}

/// One SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipMessage {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl SipMessage {
    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        }
    }

    /// The headers, for editing.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            SipMessage::Request(r) => &mut r.headers,
            SipMessage::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            SipMessage::Request(r) => &r.body,
            SipMessage::Response(r) => &r.body,
        }
    }

    /// The request, if it is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            SipMessage::Request(r) => Some(r),
            SipMessage::Response(_) => None,
        }
    }

    /// The response, if it is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            SipMessage::Response(r) => Some(r),
            SipMessage::Request(_) => None,
        }
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self, SipMessage::Request(_))
    }
}

impl From<Request> for SipMessage {
    fn from(r: Request) -> SipMessage {
        SipMessage::Request(r)
    }
}

impl From<Response> for SipMessage {
    fn from(r: Response) -> SipMessage {
        SipMessage::Response(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert_eq!(StatusCode::RINGING.reason_phrase(), Some("Ringing"));
        assert!(StatusCode::TRYING.is_provisional() && !StatusCode::TRYING.is_final());
        assert!(StatusCode::OK.is_success() && StatusCode::OK.is_final());
        assert_eq!(StatusCode::SERVICE_UNAVAILABLE.class(), 5);
        assert_eq!(StatusCode(699).to_string(), "699");
        assert_eq!(Version.to_string(), "SIP/2.0");
        let m: SipMessage = Response::new(404, "").into();
        assert!(!m.is_request() && m.as_response().is_some() && m.as_request().is_none());
        assert_eq!(m.as_response().unwrap().reason, "Not Found");
        let r = Request::new(Method::Options, Uri::parse("sip:a@b").unwrap());
        let mut m = SipMessage::from(r);
        m.headers_mut().push("X", "y");
        assert_eq!(m.headers().get("x"), Some("y"));
        assert!(m.body().is_empty());
    }
}
