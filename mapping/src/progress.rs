//! Progress descriptions (Q.931 §4.5.23), shared by the call model and the Q.931 codec.

crate::wire_enum! {
    /// Progress description, Q.931 §4.5.23 octet 4 (7 bits).
    pub struct ProgressDescription(u8) {
        /// Call is not end-to-end ISDN; further call progress information may be in-band.
        NOT_END_TO_END_ISDN = 1 => "not-end-to-end-isdn",
        /// Destination address is non-ISDN.
        DESTINATION_NON_ISDN = 2 => "destination-non-isdn",
        /// Origination address is non-ISDN.
        ORIGINATION_NON_ISDN = 3 => "origination-non-isdn",
        /// Call has returned to the ISDN.
        RETURNED_TO_ISDN = 4 => "call-returned-to-isdn",
        /// Interworking has occurred and has resulted in a telecommunication service change.
        SERVICE_CHANGE = 5 => "service-change",
        /// In-band information or an appropriate pattern is now available.
        INBAND_AVAILABLE = 8 => "inband-info-available",
    }
}
