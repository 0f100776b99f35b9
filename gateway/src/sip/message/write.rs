//! Serialisation (RFC 3261 §7): CRLF line ends, `Name: value`, one blank line, and a
//! Content-Length that always equals the body (§20.14), written in place of the first
//! received Content-Length or appended. Writing cannot fail.

use core::fmt::Write as _;

use super::headers::{Headers, names_match};
use super::{Request, Response, SipMessage};

fn write_headers(out: &mut Vec<u8>, headers: &Headers, body_len: usize) {
    let mut length_written = false;
    for (name, value) in headers.iter() {
        if names_match(name, "Content-Length") {
            if length_written {
                continue;
            }
            length_written = true;
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(body_len.to_string().as_bytes());
        } else {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    if !length_written {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body_len.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn capacity(headers: &Headers, body: &[u8]) -> usize {
    64 + body.len()
        + headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
}

impl Request {
    /// The message in wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(capacity(&self.headers, &self.body));
        let mut line = String::with_capacity(128);
        // Writing into a String cannot fail.
        let _ = write!(line, "{} {} {}\r\n", self.method, self.uri, self.version);
        out.extend_from_slice(line.as_bytes());
        write_headers(&mut out, &self.headers, self.body.len());
        out.extend_from_slice(&self.body);
        out
    }
}

impl Response {
    /// The message in wire form. A reason phrase holding CR or LF is written with spaces
    /// instead.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(capacity(&self.headers, &self.body));
        let reason: String = self
            .reason
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        let mut line = String::with_capacity(32 + reason.len());
        // Writing into a String cannot fail.
        let _ = write!(line, "{} {} {}\r\n", self.version, self.status, reason);
        out.extend_from_slice(line.as_bytes());
        write_headers(&mut out, &self.headers, self.body.len());
        out.extend_from_slice(&self.body);
        out
    }
}

impl SipMessage {
    /// The message in wire form (canonical CRLF, exact Content-Length).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SipMessage::Request(r) => r.to_bytes(),
            SipMessage::Response(r) => r.to_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_crlf_and_exact_length() {
        let m = SipMessage::parse(b"MESSAGE sip:a@b SIP/2.0\nl: 99\nX: y\nContent-Length: 99\n\n");
        assert!(m.is_err());
        let m = SipMessage::parse(b"MESSAGE sip:a@b SIP/2.0\nX: y\n\nhello").unwrap();
        assert_eq!(
            m.to_bytes(),
            b"MESSAGE sip:a@b SIP/2.0\r\nX: y\r\nContent-Length: 5\r\n\r\nhello"
        );
        let mut m =
            SipMessage::parse(b"SIP/2.0 200 OK\r\nl: 0\r\nContent-Length: 0\r\n\r\n").unwrap();
        if let SipMessage::Response(r) = &mut m {
            r.body = b"abc".to_vec();
            r.reason = "O\r\nK".into();
        }
        assert_eq!(m.to_bytes(), b"SIP/2.0 200 O  K\r\nl: 3\r\n\r\nabc");
    }
}
