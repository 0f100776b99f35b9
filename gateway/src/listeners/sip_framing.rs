//! Framing of SIP messages on a stream transport (TCP): the head ends at the first empty
//! line and the body is `Content-Length` bytes long, a header that is mandatory on stream
//! transports (RFC 3261 §18.3, §20.14). Sans-IO: bytes in, frames out.

use super::sip_head::{Head, head_end};

/// One unit read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message, head and body.
    Message(Vec<u8>),
    /// A keep-alive ping, `CRLF CRLF` (RFC 5626 §3.5.1), to be answered with one `CRLF`.
    Ping,
}

/// The stream cannot be framed any further; the connection must be closed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The head or the whole message exceeds the maximum message size.
    #[error("message larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// No `Content-Length`, or not a number (RFC 3261 §18.3); `head` is the message head.
    #[error("missing or invalid Content-Length on a stream transport")]
    ContentLength {
        /// The head of the message, for a `400 Bad Request`.
        head: Vec<u8>,
    },
}

/// Cuts a byte stream into SIP messages.
#[derive(Debug)]
pub struct StreamDeframer {
    buf: Vec<u8>,
    max: usize,
    /// Bytes of `buf` already searched for the end of the head, so that a peer
    /// trickling bytes does not make every read rescan the whole buffer.
    scanned: usize,
}

impl StreamDeframer {
    /// A deframer refusing messages longer than `max` bytes.
    pub fn new(max: usize) -> StreamDeframer {
        StreamDeframer {
            buf: Vec::new(),
            max,
            scanned: 0,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        // CRLFs before a start line are ignored (RFC 3261 §7.5), except the double-CRLF
        // ping of RFC 5626.
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.drain(..4);
                self.scanned = 0;
                return Ok(Some(Frame::Ping));
            }
            if !self.buf.starts_with(b"\r\n") {
                break;
            }
            let lone = self.buf.len() >= 4 || (self.buf.len() == 3 && self.buf[2] != b'\r');
            if !lone {
                return Ok(None);
            }
            self.buf.drain(..2);
            self.scanned = 0;
        }
        let too_large = FramingError::TooLarge { max: self.max };
        let from = self.scanned.saturating_sub(3);
        let Some(head_len) = head_end(&self.buf[from..]).map(|end| from + end) else {
            self.scanned = self.buf.len();
            return if self.buf.len() > self.max {
                Err(too_large)
            } else {
                Ok(None)
            };
        };
        let body_len = Head::scan(&self.buf[..head_len]).and_then(|h| h.content_length());
        let Some(Ok(body_len)) = body_len else {
            return Err(FramingError::ContentLength {
                head: self.buf[..head_len].to_vec(),
            });
        };
        let total = head_len.saturating_add(body_len);
        if total > self.max {
            return Err(too_large);
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let rest = self.buf.split_off(total);
        self.scanned = 0;
        Ok(Some(Frame::Message(std::mem::replace(&mut self.buf, rest))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:gw SIP/2.0\r\nContent-Length: 4\r\n\r\nabcd";

    #[test]
    fn frames_by_content_length_across_reads() {
        let mut d = StreamDeframer::new(1000);
        let mut stream = b"\r\n\r\n\r\n".to_vec();
        stream.extend_from_slice(OPTIONS);
        stream.extend_from_slice(OPTIONS);
        let mut frames = Vec::new();
        for chunk in stream.chunks(5) {
            d.push(chunk);
            while let Some(f) = d.next_frame().expect("well framed") {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            vec![
                Frame::Ping,
                Frame::Message(OPTIONS.to_vec()),
                Frame::Message(OPTIONS.to_vec())
            ]
        );
    }

    #[test]
    fn refuses_missing_content_length_and_oversize() {
        let mut d = StreamDeframer::new(1000);
        d.push(b"OPTIONS sip:gw SIP/2.0\r\nCall-ID: x\r\n\r\n");
        assert!(matches!(
            d.next_frame(),
            Err(FramingError::ContentLength { .. })
        ));

        let mut d = StreamDeframer::new(64);
        d.push(b"OPTIONS sip:gw SIP/2.0\r\nl: 100\r\n\r\n");
        assert_eq!(d.next_frame(), Err(FramingError::TooLarge { max: 64 }));

        let mut d = StreamDeframer::new(16);
        d.push(&[b'x'; 17]);
        assert_eq!(d.next_frame(), Err(FramingError::TooLarge { max: 16 }));
    }
}
