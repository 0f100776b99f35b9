//! D-channel captures: the LINKTYPE_LINUX_LAPD (177) pseudo-header, so that Wireshark
//! and tshark show which side sent each frame (and label P/F right). The pcap writer
//! itself belongs to whoever writes the file; this is the per-frame part.
//!
//! ```text
//! offset size field     value
//! 0      2    pkttype   0 = received, 4 = sent by the capturing side
//! 2      2    hatype    0x20FD (LAPD)
//! 4      2    halen     1
//! 6      8    addr      addr[0] = 1 when the capturing side is the network (NT)
//! 14     2    protocol  0x0030
//! ```
//! All big-endian; the LAPD frame (address octet on, no FCS) follows.

use crate::q921::Side;

/// The pcap link type of a LINUX_LAPD capture.
pub const LINKTYPE_LINUX_LAPD: u32 = 177;

/// Length of the pseudo-header.
pub const LINUX_LAPD_HEADER: usize = 16;

/// The pseudo-header for one frame: `sent` by the capturing side (else received), which
/// is on `side`.
pub fn linux_lapd_header(sent: bool, side: Side) -> [u8; LINUX_LAPD_HEADER] {
    let mut h = [0u8; LINUX_LAPD_HEADER];
    h[0..2].copy_from_slice(&(if sent { 4u16 } else { 0 }).to_be_bytes());
    h[2..4].copy_from_slice(&0x20FDu16.to_be_bytes());
    h[4..6].copy_from_slice(&1u16.to_be_bytes());
    h[6] = u8::from(side == Side::Network);
    h[14..16].copy_from_slice(&0x0030u16.to_be_bytes());
    h
}

/// Appends one captured record's data (pseudo-header, then the frame) to `out`.
pub fn linux_lapd_record(sent: bool, side: Side, frame: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&linux_lapd_header(sent, side));
    out.extend_from_slice(frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes() {
        assert_eq!(
            linux_lapd_header(true, Side::Network),
            [0, 4, 0x20, 0xFD, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x30]
        );
        let mut rec = Vec::new();
        linux_lapd_record(false, Side::User, &[0x02, 0x01, 0x7F], &mut rec);
        assert_eq!(rec[..2], [0, 0]);
        assert_eq!(rec[6], 0);
        assert_eq!(rec[16..], [0x02, 0x01, 0x7F]);
    }
}
