//! TPKT framing of H.225.0 call signalling over TCP (RFC 1006 §6, H.225.0 §7.1): each
//! message is preceded by `03 00 len16`, where the big-endian length counts the 4-byte
//! header too, so a frame is at most 65535 bytes. A 4-byte frame with no payload is a
//! keep-alive. Sans-IO: bytes in, payloads out.

/// TPKT version (RFC 1006 §6).
const VERSION: u8 = 3;

/// Length of the TPKT header.
pub const HEADER_LEN: usize = 4;

/// The stream is not TPKT; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TpktError {
    /// First octet is not version 3, or the reserved octet is not 0.
    #[error("not a TPKT header: {0:02x} {1:02x}")]
    BadHeader(u8, u8),
    /// The length field is below the header's own length.
    #[error("TPKT length {0} shorter than its header")]
    BadLength(u16),
}

/// Cuts a byte stream into TPKT payloads.
#[derive(Debug, Default)]
pub struct TpktDeframer {
    buf: Vec<u8>,
}

impl TpktDeframer {
    /// An empty deframer.
    pub fn new() -> TpktDeframer {
        TpktDeframer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The payload of the next whole frame (empty for a keep-alive), `Ok(None)` when
    /// more bytes are needed. Never holds more than one frame (64 KiB) plus one read.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, TpktError> {
        let [v, r, hi, lo, ..] = self.buf[..] else {
            return match self.buf[..] {
                [v, r, ..] if v != VERSION || r != 0 => Err(TpktError::BadHeader(v, r)),
                [v, ..] if v != VERSION => Err(TpktError::BadHeader(v, 0)),
                _ => Ok(None),
            };
        };
        if v != VERSION || r != 0 {
            return Err(TpktError::BadHeader(v, r));
        }
        let len = u16::from_be_bytes([hi, lo]);
        if usize::from(len) < HEADER_LEN {
            return Err(TpktError::BadLength(len));
        }
        let len = usize::from(len);
        if self.buf.len() < len {
            return Ok(None);
        }
        let rest = self.buf.split_off(len);
        let frame = std::mem::replace(&mut self.buf, rest);
        Ok(Some(frame[HEADER_LEN..].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_across_reads() {
        let mut d = TpktDeframer::new();
        let stream = [3, 0, 0, 7, 8, 1, 2, 3, 0, 0, 4, 3, 0, 0, 5, 9];
        let mut frames = Vec::new();
        for b in stream {
            d.push(&[b]);
            while let Some(f) = d.next_frame().expect("valid tpkt") {
                frames.push(f);
            }
        }
        assert_eq!(frames, vec![vec![8, 1, 2], vec![], vec![9]]);
    }

    #[test]
    fn malformed_headers_are_refused() {
        let err = |bytes: &[u8]| {
            let mut d = TpktDeframer::new();
            d.push(bytes);
            d.next_frame()
        };
        assert_eq!(err(b"G"), Err(TpktError::BadHeader(b'G', 0)));
        assert_eq!(
            err(b"GET / HTTP/1.1"),
            Err(TpktError::BadHeader(b'G', b'E'))
        );
        assert_eq!(err(&[3, 1, 0, 9]), Err(TpktError::BadHeader(3, 1)));
        assert_eq!(err(&[3, 0, 0, 3]), Err(TpktError::BadLength(3)));
        assert_eq!(err(&[3, 0, 0xff, 0xff]), Ok(None));
    }
}
