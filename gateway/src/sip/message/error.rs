//! Parse errors: classed (DESIGN.md practice 12), each with a short text fit for the
//! reason phrase or a `Warning` of the `400 Bad Request` a server answers with
//! (RFC 3261 §8.2.2, §21.4.1).

use core::fmt;

/// What kind of fault the peer's message has. Every kind is "peer misbehaved": the
/// transaction layer answers a request with [`ErrorKind::status`] and drops a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Message, header count or a value over the configured [`Limits`](super::Limits).
    TooLarge,
    /// Empty input, or bytes that are not a SIP message.
    NotSip,
    /// Malformed Request-Line or Status-Line (RFC 3261 §7.1, §7.2).
    StartLine,
    /// A SIP version other than 2.0 (answered with 505, RFC 3261 §21.5.7).
    Version,
    /// Malformed Request-URI (RFC 3261 §19.1, §25.1).
    RequestUri,
    /// A header line that is not `name: value` (RFC 3261 §7.3).
    HeaderLine,
    /// Content-Length missing digits, negative, repeated with different values, or larger
    /// than the bytes present (RFC 3261 §18.3, §20.14).
    ContentLength,
    /// A mandatory header is absent (RFC 3261 §8.1.1).
    MissingHeader,
    /// A single-valued header appears more than once (RFC 3261 §7.3.1).
    DuplicateHeader,
    /// A header value does not follow its grammar (RFC 3261 §25.1).
    HeaderValue,
    /// CSeq method differs from the Request-Line method (RFC 3261 §8.1.1.5).
    CseqMismatch,
}

impl ErrorKind {
    /// The status a server answers a request with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Version => 505,
            ErrorKind::TooLarge => 513,
            _ => 400,
        }
    }
}

/// A SIP message that could not be taken: its kind and a short explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Class of the fault.
    pub kind: ErrorKind,
    /// Short explanation (ASCII, no CR/LF), e.g. `bad CSeq: number above 2^31-1`.
    pub detail: String,
}

impl ParseError {
    /// A new error; `detail` is cleaned of control characters so it can go into a
    /// reason phrase or a Warning quoted-string as it is.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> ParseError {
        let mut detail: String = detail.into();
        if detail
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            detail = detail
                .chars()
                .map(|c| {
                    if c.is_control() || c == '"' || c == '\\' {
                        '?'
                    } else {
                        c
                    }
                })
                .collect();
        }
        ParseError { kind, detail }
    }

    /// The status for the answer ([`ErrorKind::status`]).
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// A reason phrase for the answer, e.g. `Bad Request (bad CSeq: ...)`.
    pub fn reason_phrase(&self) -> String {
        let base = match self.kind.status() {
            505 => "Version Not Supported",
            513 => "Message Too Large",
            _ => "Bad Request",
        };
        format!("{base} ({})", self.detail)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for ParseError {}

/// Shorthand for a [`ErrorKind::HeaderValue`] error about header `name`.
pub(crate) fn bad_value(name: &str, why: &str) -> ParseError {
    ParseError::new(ErrorKind::HeaderValue, format!("bad {name}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_cleaned_and_statuses_classed() {
        let e = ParseError::new(ErrorKind::HeaderValue, "a\r\n\"b\"");
        assert_eq!(e.detail, "a???b?");
        assert_eq!(e.status(), 400);
        assert_eq!(ParseError::new(ErrorKind::Version, "x").status(), 505);
        assert!(e.reason_phrase().starts_with("Bad Request ("));
    }
}
