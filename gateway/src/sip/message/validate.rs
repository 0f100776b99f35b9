//! The checks a transaction layer makes before it takes a message (RFC 3261 §8.2.2,
//! §16.3; RFC 4475 §3.1.2 and §3.3): mandatory headers, single-valued headers, and the
//! grammar and ranges of the headers it acts upon.

use super::error::{ErrorKind, ParseError, bad_value};
use super::headers::Headers;
use super::uri::Uri;
use super::{Request, SipMessage};

/// Headers every request and response carries (RFC 3261 §8.1.1). Max-Forwards is
/// mandatory for a request too, but RFC 2543 peers leave it out and RFC 4475 §3.4.1 asks
/// to accept them; a missing one counts as 70 downstream.
const MANDATORY: &[&str] = &["Via", "From", "To", "Call-ID", "CSeq"];

/// Headers that hold one value (RFC 3261 §7.3.1: everything that is not a comma list).
/// Content-Length is not here: `parse` already refused differing values, and repeats of
/// one value frame the message the same way (serialisation writes one).
const SINGLE: &[&str] = &[
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Type",
    "Expires",
    "Min-Expires",
    "Retry-After",
    "RSeq",
    "RAck",
    "Session-Expires",
    "Min-SE",
    "Date",
];

fn check_headers(h: &Headers) -> Result<(), ParseError> {
    for name in MANDATORY {
        if !h.contains(name) {
            return Err(ParseError::new(
                ErrorKind::MissingHeader,
                format!("missing {name}"),
            ));
        }
    }
    for name in SINGLE {
        if h.count(name) > 1 {
            return Err(ParseError::new(
                ErrorKind::DuplicateHeader,
                format!("more than one {name}"),
            ));
        }
    }
    h.vias()?;
    h.from()?;
    h.to()?;
    h.cseq()?;
    h.max_forwards()?;
    h.content_type()?;
    h.expires()?;
    h.min_expires()?;
    h.retry_after()?;
    h.contacts()?;
    h.routes()?;
    h.record_routes()?;
    h.reply_to()?;
    h.rseq()?;
    h.rack()?;
    h.session_expires()?;
    h.min_se()?;
    h.warnings()?;
    if h.call_id().is_some_and(str::is_empty) {
        return Err(bad_value("Call-ID", "empty"));
    }
    // RFC 3261 §20.17: SIP-date is always GMT.
    if let Some(d) = h.get("Date")
        && !d.ends_with("GMT")
    {
        return Err(bad_value("Date", "time zone must be GMT"));
    }
    Ok(())
}

fn check_request(r: &Request) -> Result<(), ParseError> {
    if let Uri::Sip(u) = &r.uri
        && u.headers.is_some()
    {
        // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI.
        return Err(ParseError::new(
            ErrorKind::RequestUri,
            "headers in the Request-URI",
        ));
    }
    check_headers(&r.headers)?;
    if let Some(cseq) = r.headers.cseq()?
        && cseq.method != r.method
    {
        return Err(ParseError::new(
            ErrorKind::CseqMismatch,
            "CSeq method differs from the Request-Line",
        ));
    }
    Ok(())
}

impl SipMessage {
    /// Checks what [`parse`](SipMessage::parse) leaves open: the mandatory headers are
    /// present, single-valued headers appear once, Via/From/To/Contact/Route/CSeq and the
    /// numeric headers follow their grammar and ranges, a request's CSeq method matches
    /// its method, its Request-URI has no headers. A request failing this is answered
    /// with [`ParseError::status`]; a response failing it is dropped (RFC 3261 §18.1.2).
    pub fn validate(&self) -> Result<(), ParseError> {
        match self {
            SipMessage::Request(r) => check_request(r),
            SipMessage::Response(r) => check_headers(&r.headers),
        }
    }

    /// [`parse`](SipMessage::parse) then [`validate`](SipMessage::validate).
    pub fn parse_checked(input: &[u8]) -> Result<SipMessage, ParseError> {
        let m = SipMessage::parse(input)?;
        m.validate()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n";

    fn check(extra: &str) -> Result<(), ErrorKind> {
        let m = format!("{BASE}{extra}\r\n");
        SipMessage::parse_checked(m.as_bytes())
            .map(|_| ())
            .map_err(|e| e.kind)
    }

    #[test]
    fn accepts_a_good_request() {
        assert_eq!(check(""), Ok(()));
        assert_eq!(check("Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"), Ok(()));
        assert_eq!(check("Max-Forwards: 0\r\n"), Ok(()));
        // Found by the fuzz target: equal repeats frame alike and serialise as one.
        assert_eq!(check("l: 0\r\nContent-Length: 0\r\n"), Ok(()));
    }

    #[test]
    fn rejects() {
        assert_eq!(check("To: <sip:c@d>\r\n"), Err(ErrorKind::DuplicateHeader));
        assert_eq!(check("Max-Forwards: 300\r\n"), Err(ErrorKind::HeaderValue));
        assert_eq!(
            check("Date: Fri, 01 Jan 2010 16:00:00 EST\r\n"),
            Err(ErrorKind::HeaderValue)
        );
        assert_eq!(
            check("Contact: <sip:a@b>;;\r\n"),
            Err(ErrorKind::HeaderValue)
        );
        let bad = BASE.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(
            SipMessage::parse_checked(format!("{bad}\r\n").as_bytes())
                .unwrap_err()
                .kind,
            ErrorKind::CseqMismatch
        );
        let bad = BASE.replace("Call-ID: c\r\n", "");
        assert_eq!(
            SipMessage::parse_checked(format!("{bad}\r\n").as_bytes())
                .unwrap_err()
                .kind,
            ErrorKind::MissingHeader
        );
        let bad = BASE.replace("sip:a@b SIP", "sip:a@b?Route=x SIP");
        assert_eq!(
            SipMessage::parse_checked(format!("{bad}\r\n").as_bytes())
                .unwrap_err()
                .kind,
            ErrorKind::RequestUri
        );
    }
}
