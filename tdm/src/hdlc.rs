//! HDLC framing of a D-channel bit stream (ISO/IEC 13239, as used by Q.921 §2): flags,
//! zero-bit insertion, abort, and the 16-bit frame check sequence.
//!
//! This is what a span driver without an HDLC controller (the TDM-over-IP pseudowire)
//! runs in software: [`Framer`] turns frames into a bit stream with idle flags between
//! them, [`Deframer`] finds frames in a received bit stream and checks them.
//!
//! Bit order: HDLC sends each octet least significant bit first (Q.921 §2.8), and the FCS
//! low-order octet first, so the reflected CRC-16/IBM-SDLC lines up with the wire.
//! How those bits are packed into the stream's bytes is the driver's choice:
//! [`BitOrder::MsbFirst`] is a timeslot octet as a PCM frame carries it (bit 1, the most
//! significant, goes first); [`BitOrder::LsbFirst`] is the other packing.
//!
//! ```
//! use tdm::hdlc::{BitOrder, Deframer, Framer, Limits};
//! let mut tx = Framer::new(BitOrder::MsbFirst);
//! tx.push_frame(&[0x02, 0x01, 0x7F]); // a SABME
//! let mut line = [0u8; 16]; // queued bits, then idle flags
//! tx.fill(&mut line);
//! let mut rx = Deframer::new(BitOrder::MsbFirst, Limits::LAPD);
//! let mut got = Vec::new();
//! rx.feed(&line, |r| got.push(r.map(|f| f.to_vec())));
//! assert_eq!(got, vec![Ok(vec![0x02, 0x01, 0x7F])]);
//! ```

use std::collections::VecDeque;

use crc::{CRC_16_IBM_SDLC, Crc};

/// The HDLC flag sequence 0111 1110 (Q.921 §2.2).
pub const FLAG: u8 = 0x7E;

/// The LAPD/HDLC frame check sequence: CRC-16/IBM-SDLC (x^16 + x^12 + x^5 + 1, preset
/// to ones, ones' complement of the remainder; Q.921 §2.7).
pub const FCS: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

/// The FCS of `data`, as a number.
pub fn fcs(data: &[u8]) -> u16 {
    FCS.checksum(data)
}

/// The FCS of `data` in transmission order: low-order octet first.
pub fn fcs_octets(data: &[u8]) -> [u8; 2] {
    fcs(data).to_le_bytes()
}

/// True when `frame` ends in two octets that are the FCS of what comes before them.
pub fn fcs_ok(frame: &[u8]) -> bool {
    match frame.len().checked_sub(2) {
        Some(n) => frame[n..] == fcs_octets(&frame[..n]),
        None => false,
    }
}

/// How stream bits are packed into the bytes a driver moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BitOrder {
    /// The first bit on the line is the most significant bit of each byte (a PCM
    /// timeslot octet; CESoPSN/SAToP payload).
    #[default]
    MsbFirst,
    /// The first bit on the line is the least significant bit of each byte.
    LsbFirst,
}

/// Limits of the frames a [`Deframer`] accepts, counted without the FCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fewest octets between address and FCS (Q.921 §2.9: address and control, 3).
    pub min_len: usize,
    /// Most octets between address and FCS (Q.921 §5.9.3: N201 260 + 4 octets of
    /// address and control).
    pub max_len: usize,
}

impl Limits {
    /// LAPD on a PRI D-channel.
    pub const LAPD: Limits = Limits {
        min_len: 3,
        max_len: 264,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::LAPD
    }
}

/// Why a received frame was discarded (Q.921 §2.9 invalid frames; the caller counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeframeError {
    /// The FCS does not match the frame's contents.
    #[error("FCS error")]
    BadFcs,
    /// The bits between the flags are not a whole number of octets.
    #[error("frame not octet aligned")]
    NotAligned,
    /// Fewer octets than the minimum.
    #[error("frame too short ({0} octets with FCS)")]
    TooShort(usize),
    /// More octets than the maximum.
    #[error("frame too long")]
    TooLong,
    /// Seven or more contiguous ones inside a frame (§2.10 abort).
    #[error("frame aborted")]
    Aborted,
}

/// Counters kept by a [`Deframer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeframeStats {
    /// Good frames delivered.
    pub frames: u64,
    /// Frames discarded for a bad FCS.
    pub bad_fcs: u64,
    /// Frames discarded for any other reason (alignment, length, abort).
    pub invalid: u64,
}

/// Turns frames into an HDLC bit stream.
///
/// The stream is kept as whole bytes plus a partial one; between frames (and when no
/// frame is queued) [`Framer::fill`] sends contiguous flags. Buffers are reused, so a
/// framer in steady state does not allocate.
#[derive(Debug, Clone)]
pub struct Framer {
    order: BitOrder,
    queue: VecDeque<u8>,
    acc: u8,
    nacc: u8,
    ones: u8,
    after_flag: bool,
}

impl Framer {
    /// A framer whose stream bytes are packed in `order`.
    pub fn new(order: BitOrder) -> Self {
        Framer {
            order,
            queue: VecDeque::with_capacity(512),
            acc: 0,
            nacc: 0,
            ones: 0,
            after_flag: false,
        }
    }

    fn bit(&mut self, b: bool) {
        match self.order {
            BitOrder::LsbFirst => self.acc |= u8::from(b) << self.nacc,
            BitOrder::MsbFirst => self.acc |= u8::from(b) << (7 - self.nacc),
        }
        self.nacc += 1;
        if self.nacc == 8 {
            self.queue.push_back(self.acc);
            self.acc = 0;
            self.nacc = 0;
        }
    }

    fn flag(&mut self) {
        for i in 0..8 {
            self.bit(FLAG >> i & 1 == 1);
        }
        self.ones = 0;
        self.after_flag = true;
    }

    /// Zero-bit insertion (§2.6): a 0 after five contiguous 1s of frame content.
    fn content_octet(&mut self, octet: u8) {
        for i in 0..8 {
            let b = octet >> i & 1 == 1;
            self.bit(b);
            if b {
                self.ones += 1;
                if self.ones == 5 {
                    self.bit(false);
                    self.ones = 0;
                }
            } else {
                self.ones = 0;
            }
        }
    }

    /// Queues one frame (address to last information octet): opening flag unless one
    /// was just sent, the stuffed contents and FCS, a closing flag.
    pub fn push_frame(&mut self, frame: &[u8]) {
        if !self.after_flag {
            self.flag();
        }
        self.after_flag = false;
        for &o in frame {
            self.content_octet(o);
        }
        for o in fcs_octets(frame) {
            self.content_octet(o);
        }
        self.flag();
    }

    /// Queues an abort (§2.10): seven contiguous ones, then a flag.
    pub fn push_abort(&mut self) {
        for _ in 0..7 {
            self.bit(true);
        }
        self.flag();
    }

    /// Whole bytes waiting to be sent.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Fills `out` with the stream: queued bytes first, then idle flags.
    pub fn fill(&mut self, out: &mut [u8]) {
        for slot in out.iter_mut() {
            while self.queue.is_empty() {
                self.flag();
            }
            // The loop above made the queue non-empty.
            *slot = self.queue.pop_front().unwrap_or(FLAG);
        }
    }
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(BitOrder::default())
    }
}

/// Finds frames in an HDLC bit stream.
///
/// Contents are gathered through a 14-bit shift register so that the six bits a closing
/// flag leaves behind (its leading 0 and five 1s) can be taken back; no allocation after
/// construction.
#[derive(Debug, Clone)]
pub struct Deframer {
    order: BitOrder,
    limits: Limits,
    buf: Vec<u8>,
    sr: u16,
    n: u8,
    ones: u8,
    in_frame: bool,
    overflow: bool,
    stats: DeframeStats,
}

impl Deframer {
    /// A deframer reading bytes packed in `order`, accepting frames within `limits`.
    pub fn new(order: BitOrder, limits: Limits) -> Self {
        Deframer {
            order,
            limits,
            buf: Vec::with_capacity(limits.max_len + 2),
            sr: 0,
            n: 0,
            ones: 0,
            in_frame: false,
            overflow: false,
            stats: DeframeStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DeframeStats {
        self.stats
    }

    fn start(&mut self) {
        self.buf.clear();
        self.sr = 0;
        self.n = 0;
        self.overflow = false;
        self.in_frame = true;
    }

    fn push_content_bit(&mut self, b: bool) {
        if !self.in_frame {
            return;
        }
        self.sr |= u16::from(b) << self.n;
        self.n += 1;
        if self.n >= 14 {
            if self.buf.len() < self.limits.max_len + 2 {
                self.buf.push(self.sr as u8);
            } else {
                self.overflow = true;
            }
            self.sr >>= 8;
            self.n -= 8;
        }
    }

    /// A flag ended whatever was being gathered.
    fn end(&mut self, on_frame: &mut impl FnMut(Result<&[u8], DeframeError>)) {
        if !self.in_frame {
            self.start();
            return;
        }
        let total = self.buf.len() * 8 + usize::from(self.n);
        if total > 6 || self.overflow {
            let result = if self.overflow {
                Err(DeframeError::TooLong)
            } else if (total - 6) % 8 != 0 {
                Err(DeframeError::NotAligned)
            } else if self.buf.len() < self.limits.min_len + 2 {
                Err(DeframeError::TooShort(self.buf.len()))
            } else if !fcs_ok(&self.buf) {
                Err(DeframeError::BadFcs)
            } else {
                Ok(())
            };
            match result {
                Ok(()) => {
                    self.stats.frames += 1;
                    let n = self.buf.len() - 2;
                    on_frame(Ok(&self.buf[..n]));
                }
                Err(e) => {
                    if e == DeframeError::BadFcs {
                        self.stats.bad_fcs += 1;
                    } else {
                        self.stats.invalid += 1;
                    }
                    on_frame(Err(e));
                }
            }
        }
        self.start();
    }

    fn bit(&mut self, b: bool, on_frame: &mut impl FnMut(Result<&[u8], DeframeError>)) {
        if b {
            self.ones = self.ones.saturating_add(1);
            match self.ones {
                1..=5 => self.push_content_bit(true),
                6 => {} // a flag or an abort: decided by the next bit
                _ => {
                    if self.ones == 7 && self.in_frame {
                        let started = !self.buf.is_empty() || self.n > 5;
                        self.in_frame = false;
                        if started {
                            self.stats.invalid += 1;
                            on_frame(Err(DeframeError::Aborted));
                        }
                    }
                    self.in_frame = false;
                }
            }
        } else {
            match self.ones {
                5 => {} // zero-bit deletion (§2.6)
                6 => self.end(on_frame),
                _ => self.push_content_bit(false),
            }
            self.ones = 0;
        }
    }

    /// Feeds received stream bytes; `on_frame` gets each frame (without FCS) or the
    /// reason one was discarded, in order.
    pub fn feed(&mut self, input: &[u8], mut on_frame: impl FnMut(Result<&[u8], DeframeError>)) {
        for &byte in input {
            for i in 0..8 {
                let b = match self.order {
                    BitOrder::LsbFirst => byte >> i & 1 == 1,
                    BitOrder::MsbFirst => byte >> (7 - i) & 1 == 1,
                };
                self.bit(b, &mut on_frame);
            }
        }
    }
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::new(BitOrder::default(), Limits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fcs_check_value() {
        assert_eq!(fcs(b"123456789"), 0x906E);
        assert_eq!(fcs_octets(b"123456789"), [0x6E, 0x90]);
        let mut f = b"123456789".to_vec();
        f.extend_from_slice(&fcs_octets(b"123456789"));
        assert!(fcs_ok(&f));
        f[0] ^= 1;
        assert!(!fcs_ok(&f));
        assert!(!fcs_ok(&[0x00]));
    }

    fn frames_of(order: BitOrder, stream: &[u8]) -> Vec<Result<Vec<u8>, DeframeError>> {
        let mut d = Deframer::new(order, Limits::LAPD);
        let mut out = Vec::new();
        d.feed(stream, |r| out.push(r.map(|f| f.to_vec())));
        out
    }

    #[test]
    fn stuffing_of_all_ones() {
        // 0xFF octets need a stuffed 0 after every five 1s; the flag must not appear.
        let frame = [0x02, 0x01, 0xFF, 0xFF, 0xFF, 0x7E];
        for order in [BitOrder::MsbFirst, BitOrder::LsbFirst] {
            let mut f = Framer::new(order);
            f.push_frame(&frame);
            let mut stream = vec![0; f.pending() + 2];
            f.fill(&mut stream);
            assert_eq!(frames_of(order, &stream), vec![Ok(frame.to_vec())]);
        }
    }

    #[test]
    fn idle_flags_only_give_nothing() {
        let mut f = Framer::default();
        let mut stream = [0u8; 64];
        f.fill(&mut stream);
        assert!(stream.iter().all(|&b| b == FLAG));
        assert!(frames_of(BitOrder::MsbFirst, &stream).is_empty());
    }

    #[test]
    fn bad_fcs_short_and_abort() {
        let mut f = Framer::new(BitOrder::LsbFirst);
        f.push_frame(&[0x00, 0x01, 0x7F]);
        let mut stream = vec![0; f.pending() + 1];
        f.fill(&mut stream);
        // Flip one content bit (the second byte is all contents).
        stream[2] ^= 0x10;
        let got = frames_of(BitOrder::LsbFirst, &stream);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());

        let mut f = Framer::new(BitOrder::LsbFirst);
        f.push_frame(&[0x00]);
        let mut stream = vec![0; f.pending() + 1];
        f.fill(&mut stream);
        assert_eq!(
            frames_of(BitOrder::LsbFirst, &stream),
            vec![Err(DeframeError::TooShort(3))]
        );

        // Opening flag, some contents, then all ones: an abort, then nothing.
        let stream = [FLAG, 0x12, 0x34, 0xFF, 0xFF, FLAG, FLAG];
        assert_eq!(
            frames_of(BitOrder::LsbFirst, &stream),
            vec![Err(DeframeError::Aborted)]
        );
        let mut f = Framer::new(BitOrder::LsbFirst);
        f.push_abort();
        f.push_frame(&[1, 2, 3]);
        let mut stream = vec![0; f.pending() + 1];
        f.fill(&mut stream);
        assert_eq!(
            frames_of(BitOrder::LsbFirst, &stream),
            vec![Ok(vec![1, 2, 3])]
        );
    }

    #[test]
    fn too_long() {
        let mut f = Framer::default();
        f.push_frame(&[0x55; 265]);
        f.push_frame(&[0x55; 264]);
        let mut stream = vec![0; f.pending() + 1];
        f.fill(&mut stream);
        let got = frames_of(BitOrder::MsbFirst, &stream);
        assert_eq!(got, vec![Err(DeframeError::TooLong), Ok(vec![0x55; 264])]);
    }

    #[test]
    fn shared_zero_flags() {
        // 0111111011111100 ...: two flags sharing a 0 between them, then a frame.
        let mut bits: Vec<bool> = Vec::new();
        let push = |bits: &mut Vec<bool>, o: u8, n: usize| {
            for i in 0..n {
                bits.push(o >> i & 1 == 1);
            }
        };
        push(&mut bits, FLAG, 8);
        push(&mut bits, FLAG >> 1, 7); // shares the previous flag's closing 0
        let frame = [0x08, 0x01, 0x03];
        let mut f = Framer::new(BitOrder::LsbFirst);
        f.after_flag = true;
        f.push_frame(&frame);
        let mut tail = vec![0; f.pending() + 1];
        f.fill(&mut tail);
        for o in tail {
            push(&mut bits, o, 8);
        }
        let bytes: Vec<u8> = bits
            .chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |a, (i, &b)| a | (u8::from(b) << i))
            })
            .collect();
        // The last partial chunk is padded with zeros: harmless after the closing flag.
        let got = frames_of(BitOrder::LsbFirst, &bytes);
        assert_eq!(got, vec![Ok(frame.to_vec())]);
    }

    proptest! {
        #[test]
        fn round_trip(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 3..=264), 0..8),
            idle in proptest::collection::vec(0usize..4, 8),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..16),
            lsb in any::<bool>(),
        ) {
            let order = if lsb { BitOrder::LsbFirst } else { BitOrder::MsbFirst };
            let mut f = Framer::new(order);
            let mut stream = Vec::new();
            for (i, fr) in frames.iter().enumerate() {
                f.push_frame(fr);
                let mut chunk = vec![0; f.pending() + idle[i]];
                f.fill(&mut chunk);
                stream.extend_from_slice(&chunk);
            }
            let mut chunk = vec![0; f.pending() + 1];
            f.fill(&mut chunk);
            stream.extend_from_slice(&chunk);

            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut d = Deframer::new(order, Limits::LAPD);
            let mut got: Vec<Vec<u8>> = Vec::new();
            let mut errors = 0;
            let mut at = 0;
            for p in points.into_iter().chain([stream.len()]) {
                d.feed(&stream[at..p], |r| match r {
                    Ok(fr) => got.push(fr.to_vec()),
                    Err(_) => errors += 1,
                });
                at = p;
            }
            prop_assert_eq!(errors, 0);
            prop_assert_eq!(got, frames);
        }

        #[test]
        fn deframer_never_panics(stream in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut d = Deframer::default();
            let mut n = 0u64;
            d.feed(&stream, |r| if let Ok(f) = r {
                assert!(f.len() >= 3 && f.len() <= 264);
                n += 1;
            });
            prop_assert_eq!(d.stats().frames, n);
        }
    }
}
