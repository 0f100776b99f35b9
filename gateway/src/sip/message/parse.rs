//! Parsing one message from bytes (RFC 3261 §7): start line, headers with LWS folding,
//! body bounded by Content-Length (§18.3, §20.14).
//!
//! The header section is read as UTF-8 (invalid bytes are replaced, so a Latin-1 display
//! name does not lose the call); names and values are slices of it until they are copied
//! once into the message's [`Headers`] buffer.

use std::borrow::Cow;

use super::error::{ErrorKind, ParseError};
use super::headers::{HeadersBuilder, names_match};
use super::syntax::is_token;
use super::uri::Uri;
use super::{Method, Request, Response, SipMessage, StatusCode, Version};

/// Size limits applied while parsing; anything over is [`ErrorKind::TooLarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whole message, in bytes.
    pub max_message: usize,
    /// Number of header lines (after unfolding).
    pub max_headers: usize,
    /// One header value after unfolding, in bytes.
    pub max_header_value: usize,
    /// Body, in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    /// 64 KiB messages (the largest UDP datagram), 256 headers, 16 KiB per value.
    fn default() -> Limits {
        Limits {
            max_message: 65_535,
            max_headers: 256,
            max_header_value: 16_384,
            max_body: 65_535,
        }
    }
}

fn err(kind: ErrorKind, detail: impl Into<String>) -> ParseError {
    ParseError::new(kind, detail)
}

/// Finds the end of the header section: `(end of last header line, start of body)`.
/// A missing blank line means the headers run to the end of the input.
fn split_head(input: &[u8]) -> (usize, usize) {
    let mut i = 0;
    while let Some(off) = input[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        match input.get(nl + 1) {
            Some(b'\n') => return (nl + 1, nl + 2),
            Some(b'\r') if input.get(nl + 2) == Some(&b'\n') => return (nl + 1, nl + 3),
            _ => i = nl + 1,
        }
    }
    (input.len(), input.len())
}

/// True when `s` starts with `SIP/` in any case (byte-wise: `s` may start with a
/// multi-byte character).
fn has_sip_prefix(s: &str) -> bool {
    s.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

fn is_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let looks_like = has_sip_prefix(v)
        && v.get(4..)
            .and_then(|n| n.split_once('.'))
            .is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
            });
    if looks_like {
        Err(err(ErrorKind::Version, format!("unsupported version {v}")))
    } else {
        Err(err(ErrorKind::StartLine, "bad SIP version"))
    }
}

enum StartLine<'a> {
    Request(Method, Uri),
    Response(StatusCode, &'a str),
}

fn parse_start_line(line: &str) -> Result<StartLine<'_>, ParseError> {
    if has_sip_prefix(line) {
        let (version, rest) = line
            .split_once(' ')
            .ok_or_else(|| err(ErrorKind::StartLine, "no status code"))?;
        is_version(version)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(ErrorKind::StartLine, "status code is not 3 digits"));
        }
        // Three ASCII digits parse into a u16.
        let code: u16 = code.parse().unwrap_or_default();
        if !(100..=699).contains(&code) {
            return Err(err(ErrorKind::StartLine, "status code out of range"));
        }
        return Ok(StartLine::Response(StatusCode(code), reason));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly single spaces
    // (RFC 4475 §3.1.2.9, §3.1.2.10).
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err(
            ErrorKind::StartLine,
            "Request-Line is not Method SP Request-URI SP SIP-Version",
        ));
    };
    if !is_token(method) {
        return Err(err(ErrorKind::StartLine, "method is not a token"));
    }
    is_version(version)?;
    let uri =
        Uri::parse(uri).map_err(|e| err(ErrorKind::RequestUri, format!("bad Request-URI: {e}")))?;
    Ok(StartLine::Request(Method::parse(method), uri))
}

fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

impl SipMessage {
    /// Parses one message with the default [`Limits`].
    pub fn parse(input: &[u8]) -> Result<SipMessage, ParseError> {
        SipMessage::parse_with(input, &Limits::default())
    }

    /// Parses one message. Leading empty lines are skipped (RFC 3261 §7.5). The body is
    /// the bytes after the blank line: exactly Content-Length of them when the header is
    /// present (extra bytes of a datagram are dropped, fewer is an error), else all.
    pub fn parse_with(input: &[u8], limits: &Limits) -> Result<SipMessage, ParseError> {
        if input.len() > limits.max_message {
            return Err(err(ErrorKind::TooLarge, "message too large"));
        }
        let skip = input
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .ok_or_else(|| err(ErrorKind::NotSip, "empty message"))?;
        // `skip` is the index of a byte of `input`.
        let input = &input[skip..];
        let (head_end, body_start) = split_head(input);
        let head: Cow<'_, str> = String::from_utf8_lossy(&input[..head_end]);
        let mut lines = head.split('\n').map(strip_cr).peekable();
        // split() yields at least one piece.
        let start = lines.next().unwrap_or_default();
        let start = parse_start_line(start)?;

        let mut b = HeadersBuilder::new(head.len(), 16);
        while let Some(line) = lines.next() {
            if line.is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                return Err(err(ErrorKind::HeaderLine, "folded line before any header"));
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| err(ErrorKind::HeaderLine, "header line without colon"))?;
            let name = name.trim_end_matches([' ', '\t']);
            if !is_token(name) {
                return Err(err(ErrorKind::HeaderLine, "header name is not a token"));
            }
            let mut len = value.len();
            if lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                let mut pieces = vec![value];
                while let Some(cont) = lines.next_if(|l| l.starts_with([' ', '\t'])) {
                    len += cont.len();
                    pieces.push(cont);
                }
                if len > limits.max_header_value {
                    return Err(err(ErrorKind::TooLarge, format!("{name} value too long")));
                }
                b.push_folded(name, pieces.into_iter());
            } else {
                if len > limits.max_header_value {
                    return Err(err(ErrorKind::TooLarge, format!("{name} value too long")));
                }
                b.push_folded(name, core::iter::once(value));
            }
            if b.len() > limits.max_headers {
                return Err(err(ErrorKind::TooLarge, "too many headers"));
            }
        }
        let headers = b.finish();

        // split_head returns body_start <= input.len().
        let rest = &input[body_start..];
        let mut length: Option<usize> = None;
        for (_, v) in headers
            .iter()
            .filter(|(n, _)| names_match(n, "Content-Length"))
        {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err(
                    ErrorKind::ContentLength,
                    "Content-Length is not a number",
                ));
            }
            let n = if v.len() > 10 {
                usize::MAX
            } else {
                v.parse::<usize>().unwrap_or(usize::MAX)
            };
            match length {
                Some(l) if l != n => {
                    return Err(err(
                        ErrorKind::ContentLength,
                        "differing Content-Length values",
                    ));
                }
                _ => length = Some(n),
            }
        }
        let body = match length {
            None => rest,
            Some(n) if n > limits.max_body => {
                return Err(err(ErrorKind::TooLarge, "body too large"));
            }
            Some(n) => rest
                .get(..n)
                .ok_or_else(|| err(ErrorKind::ContentLength, "body shorter than Content-Length"))?,
        };
        if body.len() > limits.max_body {
            return Err(err(ErrorKind::TooLarge, "body too large"));
        }
        let body = body.to_vec();
        Ok(match start {
            StartLine::Request(method, uri) => SipMessage::Request(Request {
                method,
                uri,
                version: Version,
                headers,
                body,
            }),
            StartLine::Response(status, reason) => SipMessage::Response(Response {
                version: Version,
                status,
                reason: reason.to_string(),
                headers,
                body,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SipMessage, ParseError> {
        SipMessage::parse(s.as_bytes())
    }

    #[test]
    fn request_with_folding_compact_forms_and_lf_only() {
        let m = parse(
            "\r\nINVITE tel:+4930123456789012345678 SIP/2.0\nv: SIP/2.0/UDP a;branch=z9hG4bK1\nf :  <sip:a@b>;tag=1\nSubject: one\n  two\n\ttwo-b\nl: 4\n\nbodyEXTRA",
        )
        .unwrap();
        let SipMessage::Request(r) = m else { panic!() };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.as_tel().unwrap().number, "+4930123456789012345678");
        assert_eq!(r.headers.get("via"), Some("SIP/2.0/UDP a;branch=z9hG4bK1"));
        assert_eq!(r.headers.get("From"), Some("<sip:a@b>;tag=1"));
        assert_eq!(r.headers.get("s"), Some("one two two-b"));
        assert_eq!(r.body, b"body");
    }

    #[test]
    fn responses() {
        let m = parse("SIP/2.0 100 \r\nVia: x\r\n\r\n").unwrap();
        let SipMessage::Response(r) = m else { panic!() };
        assert_eq!((r.status.0, r.reason.as_str()), (100, ""));
        let m = parse("SIP/2.0 200 OK é ✓\r\nContent-Length: 0\r\n\r\n").unwrap();
        assert_eq!(m.as_response().unwrap().reason, "OK é ✓");
        assert!(parse("SIP/2.0 200").is_ok());
        for (bad, kind) in [
            ("SIP/2.0 4294967301 big\r\n\r\n", ErrorKind::StartLine),
            ("SIP/2.0 099 low\r\n\r\n", ErrorKind::StartLine),
            ("SIP/7.0 200 OK\r\n\r\n", ErrorKind::Version),
        ] {
            assert_eq!(parse(bad).unwrap_err().kind, kind, "{bad}");
        }
    }

    #[test]
    fn rejections() {
        for (bad, kind) in [
            ("", ErrorKind::NotSip),
            ("\r\n\r\n", ErrorKind::NotSip),
            ("INVITE  sip:a@b SIP/2.0\r\n\r\n", ErrorKind::StartLine),
            ("INVITE sip:a@b SIP/2.0 \r\n\r\n", ErrorKind::StartLine),
            ("INVITE <sip:a@b> SIP/2.0\r\n\r\n", ErrorKind::RequestUri),
            ("OPTIONS sip:a@b SIP/7.0\r\n\r\n", ErrorKind::Version),
            ("OPTIONS sip:a@b HTTP/1.1\r\n\r\n", ErrorKind::StartLine),
            (
                "OPTIONS sip:a@b SIP/2.0\r\n x\r\n\r\n",
                ErrorKind::HeaderLine,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nNo colon\r\n\r\n",
                ErrorKind::HeaderLine,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nBad name: x\r\n\r\n",
                ErrorKind::HeaderLine,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: -9\r\n\r\n",
                ErrorKind::ContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: 9\r\n\r\nab",
                ErrorKind::ContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 3\r\n\r\nabc",
                ErrorKind::ContentLength,
            ),
            (
                "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999999999999\r\n\r\n",
                ErrorKind::TooLarge,
            ),
        ] {
            assert_eq!(parse(bad).unwrap_err().kind, kind, "{bad:?}");
        }
    }

    #[test]
    fn limits() {
        let small = Limits {
            max_message: 100,
            max_headers: 2,
            max_header_value: 10,
            max_body: 3,
        };
        let p = |s: &str| SipMessage::parse_with(s.as_bytes(), &small).map_err(|e| e.kind);
        assert_eq!(p(&"x".repeat(101)), Err(ErrorKind::TooLarge));
        assert_eq!(
            p("OPTIONS sip:a SIP/2.0\na: 1\nb: 2\nc: 3\n\n"),
            Err(ErrorKind::TooLarge)
        );
        assert_eq!(
            p("OPTIONS sip:a SIP/2.0\na: 12345678901\n\n"),
            Err(ErrorKind::TooLarge)
        );
        assert_eq!(
            p("OPTIONS sip:a SIP/2.0\na: 123456\n  78901\n\n"),
            Err(ErrorKind::TooLarge)
        );
        assert_eq!(p("OPTIONS sip:a SIP/2.0\n\nabcd"), Err(ErrorKind::TooLarge));
        assert!(p("OPTIONS sip:a SIP/2.0\n\nabc").is_ok());
    }

    #[test]
    fn multibyte_where_the_version_should_be() {
        // Found by the fuzz target: byte slicing inside a replacement character.
        let mut m = b"OPTIONS sip:a@b SIP".to_vec();
        m.extend_from_slice(&[0xA9; 40]);
        m.extend_from_slice(b"/2.0\r\n\r\n");
        assert_eq!(
            SipMessage::parse(&m).unwrap_err().kind,
            ErrorKind::StartLine
        );
        let mut m = vec![0xE2, 0x82];
        m.extend_from_slice(b"SIP/2.0 200 OK\r\n\r\n");
        assert!(SipMessage::parse(&m).is_err());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut m = b"OPTIONS sip:a@b SIP/2.0\r\nFrom: \"".to_vec();
        m.extend_from_slice(&[0xE9, 0xFF]);
        m.extend_from_slice(b"\" <sip:x@y>\r\n\r\n");
        let m = SipMessage::parse(&m).unwrap();
        assert!(m.headers().get("from").unwrap().contains('\u{FFFD}'));
    }
}
