//! A lenient scan of a SIP message head (start line and header fields, RFC 3261 §7).
//!
//! Used to frame messages on stream transports (Content-Length) and to copy the
//! transaction headers into a stateless answer, including from requests that a full
//! parser refuses. It understands folded lines (§7.3.1) and the compact header names
//! (§7.3.3); it validates nothing else.

/// The header fields the stub needs, by full and compact name (RFC 3261 §7.3.3, §20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// `Via` / `v`.
    Via,
    /// `From` / `f`.
    From,
    /// `To` / `t`.
    To,
    /// `Call-ID` / `i`.
    CallId,
    /// `CSeq`.
    CSeq,
    /// `Content-Length` / `l`.
    ContentLength,
}

impl Known {
    fn of(name: &str) -> Option<Known> {
        let is = |full: &str, compact: &str| {
            name.eq_ignore_ascii_case(full)
                || (!compact.is_empty() && name.eq_ignore_ascii_case(compact))
        };
        [
            (Known::Via, "Via", "v"),
            (Known::From, "From", "f"),
            (Known::To, "To", "t"),
            (Known::CallId, "Call-ID", "i"),
            (Known::CSeq, "CSeq", ""),
            (Known::ContentLength, "Content-Length", "l"),
        ]
        .into_iter()
        .find(|(_, full, compact)| is(full, compact))
        .map(|(k, _, _)| k)
    }

    /// The full name, as written in answers.
    pub fn name(self) -> &'static str {
        match self {
            Known::Via => "Via",
            Known::From => "From",
            Known::To => "To",
            Known::CallId => "Call-ID",
            Known::CSeq => "CSeq",
            Known::ContentLength => "Content-Length",
        }
    }
}

/// The start line (RFC 3261 §7.1, §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request {
        /// The method token, as received.
        method: &'a str,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response {
        /// The status code.
        code: u16,
    },
    /// Anything else.
    Unknown,
}

/// A scanned message head.
#[derive(Debug)]
pub struct Head<'a> {
    start_line: &'a str,
    fields: Vec<(Known, String)>,
    /// Bytes of the head, leading CRLFs and the blank line included.
    pub len: usize,
}

/// The offset just past the first empty line (`CRLF CRLF`), if the head is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

impl<'a> Head<'a> {
    /// Scans the head of `msg`: up to the first empty line, or all of `msg` when it has
    /// none. Leading CRLFs are skipped (RFC 3261 §7.5). `None` if the head is not UTF-8.
    pub fn scan(msg: &'a [u8]) -> Option<Head<'a>> {
        let len = head_end(msg).unwrap_or(msg.len());
        let text = std::str::from_utf8(&msg[..len]).ok()?;
        let mut lines = text
            .trim_start_matches("\r\n")
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start_line = lines.next().unwrap_or("");
        let mut fields: Vec<(Option<Known>, String)> = Vec::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            if line.starts_with([' ', '\t']) {
                // A folded line continues the previous field (§7.3.1).
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((Known::of(name.trim()), value.trim().to_owned()));
            } else {
                fields.push((None, String::new()));
            }
        }
        let fields = fields
            .into_iter()
            .filter_map(|(k, v)| k.map(|k| (k, v)))
            .collect();
        Some(Head {
            start_line,
            fields,
            len,
        })
    }

    /// Classifies the start line.
    pub fn start(&self) -> StartLine<'a> {
        let mut parts = self.start_line.splitn(3, ' ');
        let (a, b, c) = (parts.next(), parts.next(), parts.next());
        match (a, b, c) {
            (Some(v), Some(code), Some(_)) if v.eq_ignore_ascii_case("SIP/2.0") => {
                // Status-Code = 3DIGIT (RFC 3261 §25.1); classes 1xx to 6xx (§21).
                match code.parse::<u16>() {
                    Ok(n) if code.len() == 3 && (100..700).contains(&n) => {
                        StartLine::Response { code: n }
                    }
                    _ => StartLine::Unknown,
                }
            }
            (Some(method), Some(uri), Some(version))
                if is_token(method)
                    && !uri.is_empty()
                    && version.eq_ignore_ascii_case("SIP/2.0") =>
            {
                StartLine::Request { method }
            }
            _ => StartLine::Unknown,
        }
    }

    /// Every value of header `k`, in order.
    pub fn values(&self, k: Known) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `k`.
    pub fn first(&self, k: Known) -> Option<&str> {
        self.values(k).next()
    }

    /// The Content-Length: `None` when absent, `Some(Err(()))` when not a number.
    pub fn content_length(&self) -> Option<Result<usize, ()>> {
        self.first(Known::ContentLength)
            .map(|v| v.parse::<usize>().map_err(|_| ()))
    }
}

/// RFC 3261 §25.1 `token`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_full_compact_and_folded_fields() {
        let msg = b"\r\nINVITE sip:bob@example.com SIP/2.0\r\n\
            v: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n\
            Via: SIP/2.0/UDP b.example;branch=z9hG4bK2\r\n\
            From: <sip:alice@example.com>\r\n ;tag=88\r\n\
            t : <sip:bob@example.com>\r\n\
            i: abc@host\r\n\
            CSeq: 1 INVITE\r\n\
            l: 3\r\n\r\nxyz";
        let h = Head::scan(msg).expect("utf-8");
        assert_eq!(h.start(), StartLine::Request { method: "INVITE" });
        assert_eq!(h.values(Known::Via).count(), 2);
        assert_eq!(
            h.first(Known::From),
            Some("<sip:alice@example.com> ;tag=88")
        );
        assert_eq!(h.first(Known::To), Some("<sip:bob@example.com>"));
        assert_eq!(h.first(Known::CallId), Some("abc@host"));
        assert_eq!(h.content_length(), Some(Ok(3)));
        assert_eq!(h.len, msg.len() - 3);
    }

    #[test]
    fn classifies_start_lines() {
        let start = |m: &'static [u8]| Head::scan(m).expect("utf-8").start();
        assert_eq!(
            start(b"SIP/2.0 180 Ringing\r\n\r\n"),
            StartLine::Response { code: 180 }
        );
        assert_eq!(start(b"SIP/2.0 1800 Ringing\r\n\r\n"), StartLine::Unknown);
        assert_eq!(start(b"SIP/2.0 +18 Ringing\r\n\r\n"), StartLine::Unknown);
        assert_eq!(
            start(b"FOO sip:x SIP/2.0\r\n\r\n"),
            StartLine::Request { method: "FOO" }
        );
        assert_eq!(start(b"GET / HTTP/1.1\r\n\r\n"), StartLine::Unknown);
        assert_eq!(start(b"\x00\x01garbage"), StartLine::Unknown);
        assert!(Head::scan(b"\xff\xfe").is_none());
    }
}
