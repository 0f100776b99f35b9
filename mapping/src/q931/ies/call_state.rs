//! Call state, Q.931 §4.5.7 (Figure 4-14, Table 4-10).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{CodingStandard, IeCodec, Octets, content_of};

crate::wire_enum! {
    /// Call state value (bits 6-1), user (Ux) and network (Nx) states share the numbers.
    pub struct CallStateValue(u8) {
        /// U0/N0 Null.
        NULL = 0 => "null",
        /// U1/N1 Call initiated.
        CALL_INITIATED = 1 => "call-initiated",
        /// U2/N2 Overlap sending.
        OVERLAP_SENDING = 2 => "overlap-sending",
        /// U3/N3 Outgoing call proceeding.
        OUTGOING_CALL_PROCEEDING = 3 => "outgoing-call-proceeding",
        /// U4/N4 Call delivered.
        CALL_DELIVERED = 4 => "call-delivered",
        /// U6/N6 Call present.
        CALL_PRESENT = 6 => "call-present",
        /// U7/N7 Call received.
        CALL_RECEIVED = 7 => "call-received",
        /// U8/N8 Connect request.
        CONNECT_REQUEST = 8 => "connect-request",
        /// U9/N9 Incoming call proceeding.
        INCOMING_CALL_PROCEEDING = 9 => "incoming-call-proceeding",
        /// U10/N10 Active.
        ACTIVE = 10 => "active",
        /// U11/N11 Disconnect request.
        DISCONNECT_REQUEST = 11 => "disconnect-request",
        /// U12/N12 Disconnect indication.
        DISCONNECT_INDICATION = 12 => "disconnect-indication",
        /// U15/N15 Suspend request.
        SUSPEND_REQUEST = 15 => "suspend-request",
        /// U17/N17 Resume request.
        RESUME_REQUEST = 17 => "resume-request",
        /// U19/N19 Release request.
        RELEASE_REQUEST = 19 => "release-request",
        /// N22 Call abort.
        CALL_ABORT = 22 => "call-abort",
        /// U25/N25 Overlap receiving.
        OVERLAP_RECEIVING = 25 => "overlap-receiving",
        /// Rest 1 (global call reference, restart request).
        REST1 = 0x3D => "restart-request",
        /// Rest 2 (global call reference, restart).
        REST2 = 0x3E => "restart",
    }
}

/// Call state element: coding standard and state value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallState {
    /// Octet 3 bits 8-7.
    pub coding_standard: CodingStandard,
    /// Octet 3 bits 6-1.
    pub state: CallStateValue,
}

impl CallState {
    /// An ITU-T coded call state.
    pub const fn new(state: CallStateValue) -> Self {
        CallState {
            coding_standard: CodingStandard::ITU_T,
            state,
        }
    }
}

impl IeCodec for CallState {
    const ID: IeId = IeId::CALL_STATE;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        o.end()?;
        Ok(CallState {
            coding_standard: CodingStandard(o3 >> 6),
            state: CallStateValue(o3 & 0x3F),
        })
    }

    fn encode(&self) -> InfoElement {
        InfoElement::variable(
            Self::ID.0,
            vec![(self.coding_standard.0 & 0x03) << 6 | (self.state.0 & 0x3F)],
        )
    }
}
