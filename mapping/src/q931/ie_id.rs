//! Information element identifiers of codeset 0, Q.931 §4.5 Table 4-3 (plus Q.932/Q.951 ones).
//!
//! Single-octet elements are keyed by their identifier bits only: type 1 elements (Shift,
//! Congestion level, Repeat indicator) carry a value in bits 4-1, so their key is
//! `octet & 0xF0`; type 2 elements (`0xA_`) are the whole octet. See [`IeId::key_of`].

crate::wire_enum! {
    /// Information element identifier (codeset 0).
    pub struct IeId(u8) {
        /// Segmented message (§4.5.26).
        SEGMENTED_MESSAGE = 0x00 => "Segmented message",
        /// Bearer capability (§4.5.5).
        BEARER_CAPABILITY = 0x04 => "Bearer capability",
        /// Cause (§4.5.12, Q.850).
        CAUSE = 0x08 => "Cause",
        /// Call identity (§4.5.6).
        CALL_IDENTITY = 0x10 => "Call identity",
        /// Call state (§4.5.7).
        CALL_STATE = 0x14 => "Call state",
        /// Channel identification (§4.5.13).
        CHANNEL_IDENTIFICATION = 0x18 => "Channel identification",
        /// Facility (Q.932 §8.2.3).
        FACILITY = 0x1C => "Facility",
        /// Progress indicator (§4.5.23).
        PROGRESS_INDICATOR = 0x1E => "Progress indicator",
        /// Network-specific facilities (§4.5.21).
        NETWORK_SPECIFIC_FACILITIES = 0x20 => "Network-specific facilities",
        /// Notification indicator (§4.5.22).
        NOTIFICATION_INDICATOR = 0x27 => "Notification indicator",
        /// Display (§4.5.16).
        DISPLAY = 0x28 => "Display",
        /// Date/time (§4.5.15).
        DATE_TIME = 0x29 => "Date/time",
        /// Keypad facility (§4.5.18).
        KEYPAD_FACILITY = 0x2C => "Keypad facility",
        /// Signal (§4.5.28).
        SIGNAL = 0x34 => "Signal",
        /// Information rate (§4.6.3).
        INFORMATION_RATE = 0x40 => "Information rate",
        /// End-to-end transit delay (§4.6.2).
        END_TO_END_TRANSIT_DELAY = 0x42 => "End-to-end transit delay",
        /// Transit delay selection and indication (§4.6.8).
        TRANSIT_DELAY_SELECTION = 0x43 => "Transit delay selection and indication",
        /// Packet layer binary parameters (§4.6.5).
        PACKET_LAYER_BINARY_PARAMETERS = 0x44 => "Packet layer binary parameters",
        /// Packet layer window size (§4.6.6).
        PACKET_LAYER_WINDOW_SIZE = 0x45 => "Packet layer window size",
        /// Packet size (§4.6.7).
        PACKET_SIZE = 0x46 => "Packet size",
        /// Closed user group (§4.6.1).
        CLOSED_USER_GROUP = 0x47 => "Closed user group",
        /// Reverse charging indication (§4.6.4).
        REVERSE_CHARGING_INDICATION = 0x4A => "Reverse charging indication",
        /// Connected number (Q.951 §3).
        CONNECTED_NUMBER = 0x4C => "Connected number",
        /// Connected subaddress (Q.951).
        CONNECTED_SUBADDRESS = 0x4D => "Connected subaddress",
        /// Calling party number (§4.5.10).
        CALLING_PARTY_NUMBER = 0x6C => "Calling party number",
        /// Calling party subaddress (§4.5.11).
        CALLING_PARTY_SUBADDRESS = 0x6D => "Calling party subaddress",
        /// Called party number (§4.5.8).
        CALLED_PARTY_NUMBER = 0x70 => "Called party number",
        /// Called party subaddress (§4.5.9).
        CALLED_PARTY_SUBADDRESS = 0x71 => "Called party subaddress",
        /// Redirecting number (Q.952 §4.2, ETSI EN 300 207-1).
        REDIRECTING_NUMBER = 0x74 => "Redirecting number",
        /// Redirection number (Q.952).
        REDIRECTION_NUMBER = 0x76 => "Redirection number",
        /// Transit network selection (§4.5.29).
        TRANSIT_NETWORK_SELECTION = 0x78 => "Transit network selection",
        /// Restart indicator (§4.5.25).
        RESTART_INDICATOR = 0x79 => "Restart indicator",
        /// Low layer compatibility (§4.5.19).
        LOW_LAYER_COMPATIBILITY = 0x7C => "Low layer compatibility",
        /// High layer compatibility (§4.5.17).
        HIGH_LAYER_COMPATIBILITY = 0x7D => "High layer compatibility",
        /// User-user (§4.5.30; two-octet length in H.225.0).
        USER_USER = 0x7E => "User-user",
        /// Escape for extension (§4.5.1).
        ESCAPE_FOR_EXTENSION = 0x7F => "Escape for extension",
        /// Shift, single octet type 1 (§4.5.3, §4.5.4).
        SHIFT = 0x90 => "Shift",
        /// More data, single octet type 2 (§4.5.20).
        MORE_DATA = 0xA0 => "More data",
        /// Sending complete, single octet type 2 (§4.5.27).
        SENDING_COMPLETE = 0xA1 => "Sending complete",
        /// Congestion level, single octet type 1 (§4.5.14).
        CONGESTION_LEVEL = 0xB0 => "Congestion level",
        /// Repeat indicator, single octet type 1 (§4.5.24).
        REPEAT_INDICATOR = 0xD0 => "Repeat indicator",
    }
}

impl IeId {
    /// The key of an identifier octet: bit 8 = 1 marks a single-octet element (§4.5.1);
    /// type 1 ones (all but `0xA_`) keep only bits 8-5, the rest bits 4-1 being a value.
    pub const fn key_of(octet: u8) -> IeId {
        if octet & 0x80 != 0 && octet & 0xF0 != 0xA0 {
            IeId(octet & 0xF0)
        } else {
            IeId(octet)
        }
    }

    /// True for single-octet elements (bit 8 set, §4.5.1).
    pub const fn is_single_octet(self) -> bool {
        self.0 & 0x80 != 0
    }
}
