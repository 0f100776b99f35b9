//! Message types, Q.931 §4.4 Table 4-2, with the Q.932 supplementary-service messages that
//! H.225.0 (Table 4) and ETSI/QSIG PRI also use.

crate::wire_enum! {
    /// Message type octet (Q.931 §4.4). Bit 8 is reserved; values we do not name pass through.
    pub struct MessageType(u8) {
        /// Escape to nationally specific message types (the next octets are national).
        ESCAPE = 0x00 => "ESCAPE",
        /// ALERTING (§3.1.1).
        ALERTING = 0x01 => "ALERTING",
        /// CALL PROCEEDING (§3.1.2).
        CALL_PROCEEDING = 0x02 => "CALL PROCEEDING",
        /// PROGRESS (§3.1.8).
        PROGRESS = 0x03 => "PROGRESS",
        /// SETUP (§3.1.14).
        SETUP = 0x05 => "SETUP",
        /// CONNECT (§3.1.3).
        CONNECT = 0x07 => "CONNECT",
        /// SETUP ACKNOWLEDGE (§3.1.15).
        SETUP_ACKNOWLEDGE = 0x0D => "SETUP ACKNOWLEDGE",
        /// CONNECT ACKNOWLEDGE (§3.1.4).
        CONNECT_ACKNOWLEDGE = 0x0F => "CONNECT ACKNOWLEDGE",
        /// USER INFORMATION (§3.3.13).
        USER_INFORMATION = 0x20 => "USER INFORMATION",
        /// SUSPEND REJECT (§3.1.19).
        SUSPEND_REJECT = 0x21 => "SUSPEND REJECT",
        /// RESUME REJECT (§3.1.13).
        RESUME_REJECT = 0x22 => "RESUME REJECT",
        /// HOLD (Q.932 §6.1).
        HOLD = 0x24 => "HOLD",
        /// SUSPEND (§3.1.17).
        SUSPEND = 0x25 => "SUSPEND",
        /// RESUME (§3.1.11).
        RESUME = 0x26 => "RESUME",
        /// HOLD ACKNOWLEDGE (Q.932).
        HOLD_ACKNOWLEDGE = 0x28 => "HOLD ACKNOWLEDGE",
        /// SUSPEND ACKNOWLEDGE (§3.1.18).
        SUSPEND_ACKNOWLEDGE = 0x2D => "SUSPEND ACKNOWLEDGE",
        /// RESUME ACKNOWLEDGE (§3.1.12).
        RESUME_ACKNOWLEDGE = 0x2E => "RESUME ACKNOWLEDGE",
        /// HOLD REJECT (Q.932).
        HOLD_REJECT = 0x30 => "HOLD REJECT",
        /// RETRIEVE (Q.932).
        RETRIEVE = 0x31 => "RETRIEVE",
        /// RETRIEVE ACKNOWLEDGE (Q.932).
        RETRIEVE_ACKNOWLEDGE = 0x33 => "RETRIEVE ACKNOWLEDGE",
        /// RETRIEVE REJECT (Q.932).
        RETRIEVE_REJECT = 0x37 => "RETRIEVE REJECT",
        /// DISCONNECT (§3.1.5).
        DISCONNECT = 0x45 => "DISCONNECT",
        /// RESTART (§3.4.1).
        RESTART = 0x46 => "RESTART",
        /// RELEASE (§3.1.9).
        RELEASE = 0x4D => "RELEASE",
        /// RESTART ACKNOWLEDGE (§3.4.2).
        RESTART_ACKNOWLEDGE = 0x4E => "RESTART ACKNOWLEDGE",
        /// RELEASE COMPLETE (§3.1.10).
        RELEASE_COMPLETE = 0x5A => "RELEASE COMPLETE",
        /// SEGMENT (§3.1.16).
        SEGMENT = 0x60 => "SEGMENT",
        /// FACILITY (Q.932 §8.1; H.225.0 §7.4).
        FACILITY = 0x62 => "FACILITY",
        /// REGISTER (Q.932).
        REGISTER = 0x64 => "REGISTER",
        /// NOTIFY (§3.1.7).
        NOTIFY = 0x6E => "NOTIFY",
        /// STATUS ENQUIRY (§3.1.21).
        STATUS_ENQUIRY = 0x75 => "STATUS ENQUIRY",
        /// CONGESTION CONTROL (§3.3.1).
        CONGESTION_CONTROL = 0x79 => "CONGESTION CONTROL",
        /// INFORMATION (§3.1.6).
        INFORMATION = 0x7B => "INFORMATION",
        /// STATUS (§3.1.16).
        STATUS = 0x7D => "STATUS",
    }
}
