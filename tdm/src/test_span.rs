//! Framing of the D-channel on the test span.
//!
//! The test span is an `AF_UNIX` `SOCK_SEQPACKET` socket pair standing in for a DAHDI
//! D-channel, so that a C program linking an independent stack (Debian's libpri,
//! `tests/pri-peer/peer.c`) can sit on the far end. Wire format, one direction as the
//! other:
//!
//! ```text
//! one SEQPACKET message = one LAPD frame + FCS slot:
//! | address (2) | control (1 or 2) | information (0-260) | FCS low | FCS high |
//!  \____ the Q.921 frame (§2.1), without flags or bit stuffing ____/ \_ slot _/
//! ```
//!
//! - no HDLC flags, no zero-bit insertion: the message boundary is the frame boundary;
//! - the last two octets are the FCS slot, where a DAHDI driver puts the FCS. We send
//!   the real CRC-16/IBM-SDLC FCS of the frame, low-order octet first (as HDLC sends it);
//!   on receive we strip the two octets *without* checking them, since libpri (and
//!   DAHDI's HDLC in software) leave them as they please;
//! - a message shorter than 2 + 3 octets is not a frame and is dropped by the reader;
//!   the longest message is 264 + 2 octets (N201 = 260 plus address and control).
//!
//! Bearer channels are not on this socket; they will have sockets of their own.

use crate::hdlc;

/// Octets after the frame in each message.
pub const FCS_SLOT: usize = 2;

/// The longest message: N201 (260) + address and control (4) + the FCS slot.
pub const MAX_MESSAGE: usize = 264 + FCS_SLOT;

/// A message too short to hold a frame and its FCS slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("test span message of {0} octets is shorter than a frame and its FCS slot")]
pub struct ShortMessage(pub usize);

/// Appends the message carrying `frame` (from its address octet) to `out`: the frame,
/// then its FCS, low-order octet first.
pub fn encode_dchannel(frame: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(frame);
    out.extend_from_slice(&hdlc::fcs_octets(frame));
}

/// The frame in a received message: the message without its last two octets, which
/// are not checked. At least the 3 octets of address and control must remain.
pub fn decode_dchannel(message: &[u8]) -> Result<&[u8], ShortMessage> {
    if message.len() < FCS_SLOT + 3 {
        return Err(ShortMessage(message.len()));
    }
    Ok(&message[..message.len() - FCS_SLOT])
}

/// True when the FCS slot of `message` holds the frame's FCS (for diagnostics only).
pub fn fcs_slot_valid(message: &[u8]) -> bool {
    hdlc::fcs_ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fcs_order() {
        let sabme = [0x02, 0x01, 0x7F];
        let mut msg = Vec::new();
        encode_dchannel(&sabme, &mut msg);
        assert_eq!(msg.len(), 5);
        let fcs = hdlc::fcs(&sabme);
        assert_eq!(msg[3..], [fcs as u8, (fcs >> 8) as u8]);
        assert!(fcs_slot_valid(&msg));
        assert_eq!(decode_dchannel(&msg), Ok(&sabme[..]));
        // The slot's contents are not checked on receive.
        let garbage = [0x02, 0x01, 0x7F, 0x00, 0x00];
        assert_eq!(decode_dchannel(&garbage), Ok(&sabme[..]));
        assert!(!fcs_slot_valid(&garbage));
        assert_eq!(
            decode_dchannel(&[0x02, 0x01, 0x7F, 0x00]),
            Err(ShortMessage(4))
        );
    }
}
