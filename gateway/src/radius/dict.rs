//! The attributes the gateway sends and reads, as one table (RFC 2865 §5, RFC 2866
//! §5, RFC 2869 §5.14, RFC 3579 §3.2 and Cisco's VoIP vendor-specific attributes,
//! vendor 9). The codec itself is generic; the table gives names for logs and tests and
//! the kind of each value, so a decoded packet can be printed the way FreeRADIUS
//! prints it.

/// A standard attribute type (RFC 2865 §5: one octet). Open: unknown types pass through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrType(pub u8);

/// An SMI private enterprise number (the Vendor-Id of RFC 2865 §5.26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VendorId(pub u32);

impl VendorId {
    /// Cisco Systems.
    pub const CISCO: VendorId = VendorId(9);
}

/// How a value is written on the wire (RFC 2865 §5 "text", "string", "address",
/// "integer", "time").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// Opaque octets.
    Octets,
    /// An IPv4 address, 4 octets.
    Address,
    /// A 32-bit unsigned integer, network order.
    Integer,
    /// Seconds since 1970-01-01 UTC, 32 bits.
    Time,
}

macro_rules! standard {
    ($($(#[$doc:meta])* $konst:ident = $code:literal, $name:literal, $kind:ident;)*) => {
        impl AttrType {
            $($(#[$doc])* pub const $konst: AttrType = AttrType($code);)*
        }
        /// Standard attributes: type, name, kind.
        pub const STANDARD: &[(AttrType, &str, Kind)] = &[
            $((AttrType($code), $name, Kind::$kind),)*
        ];
    };
}

standard! {
    /// RFC 2865 §5.1.
    USER_NAME = 1, "User-Name", Text;
    /// RFC 2865 §5.2 (hidden with the secret).
    USER_PASSWORD = 2, "User-Password", Octets;
    /// RFC 2865 §5.4.
    NAS_IP_ADDRESS = 4, "NAS-IP-Address", Address;
    /// RFC 2865 §5.5.
    NAS_PORT = 5, "NAS-Port", Integer;
    /// RFC 2865 §5.6.
    SERVICE_TYPE = 6, "Service-Type", Integer;
    /// RFC 2865 §5.18.
    REPLY_MESSAGE = 18, "Reply-Message", Text;
    /// RFC 2865 §5.25.
    CLASS = 25, "Class", Octets;
    /// RFC 2865 §5.26.
    VENDOR_SPECIFIC = 26, "Vendor-Specific", Octets;
    /// RFC 2865 §5.27.
    SESSION_TIMEOUT = 27, "Session-Timeout", Integer;
    /// RFC 2865 §5.30.
    CALLED_STATION_ID = 30, "Called-Station-Id", Text;
    /// RFC 2865 §5.31.
    CALLING_STATION_ID = 31, "Calling-Station-Id", Text;
    /// RFC 2865 §5.32.
    NAS_IDENTIFIER = 32, "NAS-Identifier", Text;
    /// RFC 2866 §5.1.
    ACCT_STATUS_TYPE = 40, "Acct-Status-Type", Integer;
    /// RFC 2866 §5.2.
    ACCT_DELAY_TIME = 41, "Acct-Delay-Time", Integer;
    /// RFC 2866 §5.3.
    ACCT_INPUT_OCTETS = 42, "Acct-Input-Octets", Integer;
    /// RFC 2866 §5.4.
    ACCT_OUTPUT_OCTETS = 43, "Acct-Output-Octets", Integer;
    /// RFC 2866 §5.5.
    ACCT_SESSION_ID = 44, "Acct-Session-Id", Text;
    /// RFC 2866 §5.6.
    ACCT_AUTHENTIC = 45, "Acct-Authentic", Integer;
    /// RFC 2866 §5.7.
    ACCT_SESSION_TIME = 46, "Acct-Session-Time", Integer;
    /// RFC 2866 §5.8.
    ACCT_INPUT_PACKETS = 47, "Acct-Input-Packets", Integer;
    /// RFC 2866 §5.9.
    ACCT_OUTPUT_PACKETS = 48, "Acct-Output-Packets", Integer;
    /// RFC 2866 §5.10.
    ACCT_TERMINATE_CAUSE = 49, "Acct-Terminate-Cause", Integer;
    /// RFC 2869 §5.3.
    EVENT_TIMESTAMP = 55, "Event-Timestamp", Time;
    /// RFC 2865 §5.41.
    NAS_PORT_TYPE = 61, "NAS-Port-Type", Integer;
    /// RFC 2869 §5.16.
    ACCT_INTERIM_INTERVAL = 85, "Acct-Interim-Interval", Integer;
    /// RFC 3579 §3.2 (HMAC-MD5 over the packet).
    MESSAGE_AUTHENTICATOR = 80, "Message-Authenticator", Octets;
}

/// A Cisco vendor attribute type (vendor 9; one octet type, one octet length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CiscoAttr(pub u8);

macro_rules! cisco {
    ($($konst:ident = $code:literal, $name:literal, $kind:ident;)*) => {
        impl CiscoAttr {
            $(#[doc = $name] pub const $konst: CiscoAttr = CiscoAttr($code);)*
        }
        /// Cisco attributes (vendor 9): type, name, kind. Cisco writes every h323-*
        /// value as `name=value` text; the name is part of the value.
        pub const CISCO: &[(CiscoAttr, &str, Kind)] = &[
            $((CiscoAttr($code), $name, Kind::$kind),)*
        ];
    };
}

cisco! {
    AVPAIR = 1, "Cisco-AVPair", Text;
    H323_REMOTE_ADDRESS = 23, "h323-remote-address", Text;
    H323_CONF_ID = 24, "h323-conf-id", Text;
    H323_SETUP_TIME = 25, "h323-setup-time", Text;
    H323_CALL_ORIGIN = 26, "h323-call-origin", Text;
    H323_CALL_TYPE = 27, "h323-call-type", Text;
    H323_CONNECT_TIME = 28, "h323-connect-time", Text;
    H323_DISCONNECT_TIME = 29, "h323-disconnect-time", Text;
    H323_DISCONNECT_CAUSE = 30, "h323-disconnect-cause", Text;
    H323_GW_ID = 33, "h323-gw-id", Text;
    H323_CREDIT_TIME = 102, "h323-credit-time", Text;
    H323_RETURN_CODE = 103, "h323-return-code", Text;
}

/// The name and kind of a standard attribute, when the table has it.
pub fn standard(t: AttrType) -> Option<(&'static str, Kind)> {
    STANDARD
        .iter()
        .find(|(c, _, _)| *c == t)
        .map(|(_, n, k)| (*n, *k))
}

/// The name and kind of a Cisco attribute, when the table has it.
pub fn cisco(t: CiscoAttr) -> Option<(&'static str, Kind)> {
    CISCO
        .iter()
        .find(|(c, _, _)| *c == t)
        .map(|(_, n, k)| (*n, *k))
}

/// Acct-Status-Type values (RFC 2866 §5.1, RFC 2869 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AcctStatus(pub u32);

impl AcctStatus {
    /// Start.
    pub const START: AcctStatus = AcctStatus(1);
    /// Stop.
    pub const STOP: AcctStatus = AcctStatus(2);
    /// Interim-Update (RFC 2869 §2.1).
    pub const INTERIM_UPDATE: AcctStatus = AcctStatus(3);

    /// The name FreeRADIUS's dictionary gives it.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "Start",
            2 => "Stop",
            3 => "Interim-Update",
            _ => "other",
        }
    }
}

/// Acct-Terminate-Cause values used (RFC 2866 §5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminateCause(pub u32);

impl TerminateCause {
    /// The user ended the session.
    pub const USER_REQUEST: TerminateCause = TerminateCause(1);
    /// Lost service (the other party went away).
    pub const LOST_SERVICE: TerminateCause = TerminateCause(3);
    /// Session-Timeout reached.
    pub const SESSION_TIMEOUT: TerminateCause = TerminateCause(5);
    /// The NAS ended it (error).
    pub const NAS_ERROR: TerminateCause = TerminateCause(9);
    /// The NAS ended it (request).
    pub const NAS_REQUEST: TerminateCause = TerminateCause(10);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_duplicates() {
        let mut s: Vec<u8> = STANDARD.iter().map(|e| e.0.0).collect();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), STANDARD.len());
        let mut c: Vec<u8> = CISCO.iter().map(|e| e.0.0).collect();
        c.sort_unstable();
        c.dedup();
        assert_eq!(c.len(), CISCO.len());
    }

    #[test]
    fn rows_match_the_rfcs_and_freeradius_dictionaries() {
        assert_eq!(
            standard(AttrType(44)),
            Some(("Acct-Session-Id", Kind::Text))
        );
        assert_eq!(
            standard(AttrType(80)).map(|e| e.0),
            Some("Message-Authenticator")
        );
        assert_eq!(cisco(CiscoAttr(24)).map(|e| e.0), Some("h323-conf-id"));
        assert_eq!(cisco(CiscoAttr(102)).map(|e| e.0), Some("h323-credit-time"));
        assert_eq!(cisco(CiscoAttr(1)).map(|e| e.0), Some("Cisco-AVPair"));
    }
}
