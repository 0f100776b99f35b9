//! RTP and RTCP header views (RFC 3550 §5.1, §6.4), read in place with `zerocopy`.
//!
//! Nothing here copies or allocates: [`RtpPacket::parse`] hands back references into the
//! caller's buffer, and [`RtpHeader`] can be borrowed mutably (`mut_from_prefix`) to rewrite
//! fields in place. Bad input is an [`RtpError`], never a panic.

use zerocopy::byteorder::{BigEndian, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The only RTP version in use (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;

/// The fixed 12-byte RTP header (RFC 3550 §5.1):
///
/// ```text
///  0                   1                   2                   3
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// |                           timestamp                           |
/// |           synchronization source (SSRC) identifier            |
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct RtpHeader {
    /// V (2 bits), P, X, CC (4 bits).
    pub vpxcc: u8,
    /// M, PT (7 bits).
    pub mpt: u8,
    pub sequence: U16<BigEndian>,
    pub timestamp: U32<BigEndian>,
    pub ssrc: U32<BigEndian>,
}

impl RtpHeader {
    /// Size of the fixed header in bytes.
    pub const LEN: usize = 12;

    /// A version-2 header with no padding, extension or CSRCs.
    pub fn new(payload_type: u8, marker: bool, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpHeader {
            vpxcc: RTP_VERSION << 6,
            mpt: (u8::from(marker) << 7) | (payload_type & 0x7f),
            sequence: U16::new(sequence),
            timestamp: U32::new(timestamp),
            ssrc: U32::new(ssrc),
        }
    }

    pub fn version(&self) -> u8 {
        self.vpxcc >> 6
    }
    pub fn padding(&self) -> bool {
        self.vpxcc & 0x20 != 0
    }
    pub fn extension(&self) -> bool {
        self.vpxcc & 0x10 != 0
    }
    pub fn csrc_count(&self) -> u8 {
        self.vpxcc & 0x0f
    }
    pub fn marker(&self) -> bool {
        self.mpt & 0x80 != 0
    }
    pub fn payload_type(&self) -> u8 {
        self.mpt & 0x7f
    }
    pub fn set_padding(&mut self, on: bool) {
        self.vpxcc = (self.vpxcc & !0x20) | (u8::from(on) << 5);
    }
    pub fn set_extension(&mut self, on: bool) {
        self.vpxcc = (self.vpxcc & !0x10) | (u8::from(on) << 4);
    }
    /// Sets CC; only the low four bits of `count` are used.
    pub fn set_csrc_count(&mut self, count: u8) {
        self.vpxcc = (self.vpxcc & 0xf0) | (count & 0x0f);
    }
    pub fn set_marker(&mut self, on: bool) {
        self.mpt = (self.mpt & 0x7f) | (u8::from(on) << 7);
    }
    /// Sets PT; only the low seven bits of `pt` are used.
    pub fn set_payload_type(&mut self, pt: u8) {
        self.mpt = (self.mpt & 0x80) | (pt & 0x7f);
    }
}

/// Why a datagram is not a well-formed RTP or RTCP packet. Every variant is a peer
/// misbehaving (DESIGN.md practice 12): the packet is dropped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("packet of {0} bytes is shorter than the fixed header")]
    TooShort(usize),
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("CSRC list of {0} entries runs past the end of the packet")]
    CsrcTruncated(u8),
    #[error("header extension runs past the end of the packet")]
    ExtensionTruncated,
    #[error("padding count {0} is zero or larger than the payload")]
    BadPadding(u8),
    #[error("RTCP packet length runs past the end of the compound packet")]
    RtcpTruncated,
}

/// A header extension (RFC 3550 §5.3.1): profile-defined 16 bits and the data words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed RTP packet: references into the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: &'a RtpHeader,
    pub csrcs: &'a [U32<BigEndian>],
    pub extension: Option<Extension<'a>>,
    pub payload: &'a [u8],
    /// Number of padding octets at the end, including the count octet itself; 0 when P is clear.
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// Reads an RTP packet without copying: fixed header, CSRC list, extension, padding.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let (header, rest) =
            RtpHeader::ref_from_prefix(buf).map_err(|_| RtpError::TooShort(buf.len()))?;
        if header.version() != RTP_VERSION {
            return Err(RtpError::BadVersion(header.version()));
        }
        let cc = header.csrc_count();
        let (csrcs, mut rest) =
            <[U32<BigEndian>]>::ref_from_prefix_with_elems(rest, usize::from(cc))
                .map_err(|_| RtpError::CsrcTruncated(cc))?;
        let extension = if header.extension() {
            let (ext, after) =
                ExtensionHeader::ref_from_prefix(rest).map_err(|_| RtpError::ExtensionTruncated)?;
            let len = usize::from(ext.length.get()) * 4;
            if after.len() < len {
                return Err(RtpError::ExtensionTruncated);
            }
            let (data, after) = after.split_at(len);
            rest = after;
            Some(Extension {
                profile: ext.profile.get(),
                data,
            })
        } else {
            None
        };
        let padding = if header.padding() {
            // `rest` may be empty: then there is no count octet at all.
            let count = rest.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > rest.len() {
                return Err(RtpError::BadPadding(count));
            }
            count
        } else {
            0
        };
        let payload = &rest[..rest.len() - usize::from(padding)];
        Ok(RtpPacket {
            header,
            csrcs,
            extension,
            payload,
            padding,
        })
    }

    /// Bytes before the payload: fixed header, CSRCs and extension.
    pub fn header_len(&self) -> usize {
        RtpHeader::LEN
            + self.csrcs.len() * 4
            + self
                .extension
                .map_or(0, |e| ExtensionHeader::LEN + e.data.len())
    }
}

/// The 4-byte header of an RTP header extension.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ExtensionHeader {
    pub profile: U16<BigEndian>,
    /// Length of the extension data in 32-bit words.
    pub length: U16<BigEndian>,
}

impl ExtensionHeader {
    pub const LEN: usize = 4;
}

/// True when the second octet is an RTCP packet type (RFC 5761 §4: 192..=223 when
/// RTP and RTCP share a port). Callers check the length separately.
pub fn looks_like_rtcp(buf: &[u8]) -> bool {
    matches!(buf.get(1), Some(192..=223))
}

/// RTCP packet types (RFC 3550 §12.1), as an open set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpType(pub u8);

impl RtcpType {
    pub const SR: RtcpType = RtcpType(200);
    pub const RR: RtcpType = RtcpType(201);
    pub const SDES: RtcpType = RtcpType(202);
    pub const BYE: RtcpType = RtcpType(203);
    pub const APP: RtcpType = RtcpType(204);
    /// Extended reports (RFC 3611).
    pub const XR: RtcpType = RtcpType(207);
}

/// The common RTCP header (RFC 3550 §6.4.1): for SR and RR the sender's SSRC follows it;
/// a BYE with no source (RC = 0) is only these 4 bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct RtcpHeader {
    /// V (2 bits), P, RC (5 bits).
    pub vprc: u8,
    pub packet_type: u8,
    /// Length in 32-bit words minus one, including this header.
    pub length: U16<BigEndian>,
}

impl RtcpHeader {
    pub const LEN: usize = 4;

    pub fn version(&self) -> u8 {
        self.vprc >> 6
    }
    pub fn padding(&self) -> bool {
        self.vprc & 0x20 != 0
    }
    pub fn count(&self) -> u8 {
        self.vprc & 0x1f
    }
    pub fn packet_type(&self) -> RtcpType {
        RtcpType(self.packet_type)
    }
    /// Whole packet length in bytes.
    pub fn byte_len(&self) -> usize {
        (usize::from(self.length.get()) + 1) * 4
    }
}

/// Size of the sender info block of an SR (RFC 3550 §6.4.1).
pub const SENDER_INFO_LEN: usize = 20;
/// Size of one reception report block (RFC 3550 §6.4.1).
pub const REPORT_BLOCK_LEN: usize = 24;

/// Checks a compound RTCP packet: each packet version 2 and inside the buffer. Returns the
/// number of packets.
pub fn validate_rtcp(buf: &[u8]) -> Result<usize, RtpError> {
    let mut offset = 0;
    let mut packets = 0;
    while offset < buf.len() {
        let (header, _) = RtcpHeader::ref_from_prefix(&buf[offset..])
            .map_err(|_| RtpError::TooShort(buf.len() - offset))?;
        if header.version() != RTP_VERSION {
            return Err(RtpError::BadVersion(header.version()));
        }
        let len = header.byte_len();
        if buf.len() - offset < len {
            return Err(RtpError::RtcpTruncated);
        }
        offset += len;
        packets += 1;
    }
    if packets == 0 {
        return Err(RtpError::TooShort(0));
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let bytes = [
            0x80,
            0x80 | 8,
            0x12,
            0x34,
            0,
            0,
            0x01,
            0x00,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        let p = RtpPacket::parse(&bytes).expect("valid");
        assert_eq!(p.header.version(), 2);
        assert!(p.header.marker());
        assert_eq!(p.header.payload_type(), 8);
        assert_eq!(p.header.sequence.get(), 0x1234);
        assert_eq!(p.header.timestamp.get(), 256);
        assert_eq!(p.header.ssrc.get(), 0xdead_beef);
        assert!(p.payload.is_empty());
        assert_eq!(p.header.as_bytes(), &bytes[..]);
    }

    #[test]
    fn csrc_extension_padding() {
        let mut b = RtpHeader::new(0, false, 1, 2, 3);
        b.set_csrc_count(2);
        b.set_extension(true);
        b.set_padding(true);
        let mut bytes = b.as_bytes().to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 10]); // CSRCs
        bytes.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension, 1 word
        bytes.extend_from_slice(&[0xaa, 0xbb]); // payload
        bytes.extend_from_slice(&[0, 0, 3]); // padding
        let p = RtpPacket::parse(&bytes).expect("valid");
        assert_eq!(p.csrcs.iter().map(|c| c.get()).collect::<Vec<_>>(), [9, 10]);
        assert_eq!(
            p.extension,
            Some(Extension {
                profile: 0xbede,
                data: &[1, 2, 3, 4]
            })
        );
        assert_eq!(p.payload, &[0xaa, 0xbb]);
        assert_eq!(p.padding, 3);
        assert_eq!(p.header_len(), 12 + 8 + 8);
    }

    #[test]
    fn errors() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort(11)));
        let mut h = RtpHeader::new(0, false, 0, 0, 0);
        h.vpxcc = 0x40;
        assert_eq!(RtpPacket::parse(h.as_bytes()), Err(RtpError::BadVersion(1)));
        let mut h = RtpHeader::new(0, false, 0, 0, 0);
        h.set_csrc_count(1);
        assert_eq!(
            RtpPacket::parse(h.as_bytes()),
            Err(RtpError::CsrcTruncated(1))
        );
        let mut h = RtpHeader::new(0, false, 0, 0, 0);
        h.set_extension(true);
        let mut bytes = h.as_bytes().to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::ExtensionTruncated));
        let mut h = RtpHeader::new(0, false, 0, 0, 0);
        h.set_padding(true);
        assert_eq!(RtpPacket::parse(h.as_bytes()), Err(RtpError::BadPadding(0)));
        let mut bytes = h.as_bytes().to_vec();
        bytes.extend_from_slice(&[1, 5]);
        assert_eq!(RtpPacket::parse(&bytes), Err(RtpError::BadPadding(5)));
    }

    #[test]
    fn rtcp_demux_and_validation() {
        // RR with no report blocks: length 1 (8 bytes).
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 7];
        assert!(looks_like_rtcp(&rr));
        assert_eq!(validate_rtcp(&rr), Ok(1));
        assert_eq!(validate_rtcp(&rr[..6]), Err(RtpError::RtcpTruncated));
        assert_eq!(validate_rtcp(&rr[..3]), Err(RtpError::TooShort(3)));
        // A BYE with no sources is 4 bytes, and may start a compound packet.
        let mut compound = vec![0x80, 203, 0, 0];
        compound.extend_from_slice(&rr);
        assert_eq!(validate_rtcp(&compound), Ok(2));
        let long = [0x80, 201, 0, 5, 0, 0, 0, 7];
        assert_eq!(validate_rtcp(&long), Err(RtpError::RtcpTruncated));
        assert!(!looks_like_rtcp(&[0x80, 0]));
    }
}
