//! SIP request methods (RFC 3261 §7.1 and extensions), as an open enum.

use core::fmt;

/// A SIP method. Methods are case-sensitive (RFC 3261 §7.1): `invite` is not `INVITE` and
/// comes back as [`SipMethod::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SipMethod {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// OPTIONS (RFC 3261).
    Options,
    /// REGISTER (RFC 3261).
    Register,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// PUBLISH (RFC 3903).
    Publish,
    /// INFO (RFC 6086).
    Info,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// UPDATE (RFC 3311).
    Update,
    /// Any other method token, verbatim.
    Other(String),
}

/// Every named method with its token, in declaration order.
pub const METHODS: &[(SipMethod, &str)] = &[
    (SipMethod::Invite, "INVITE"),
    (SipMethod::Ack, "ACK"),
    (SipMethod::Bye, "BYE"),
    (SipMethod::Cancel, "CANCEL"),
    (SipMethod::Options, "OPTIONS"),
    (SipMethod::Register, "REGISTER"),
    (SipMethod::Prack, "PRACK"),
    (SipMethod::Subscribe, "SUBSCRIBE"),
    (SipMethod::Notify, "NOTIFY"),
    (SipMethod::Publish, "PUBLISH"),
    (SipMethod::Info, "INFO"),
    (SipMethod::Refer, "REFER"),
    (SipMethod::Message, "MESSAGE"),
    (SipMethod::Update, "UPDATE"),
];

impl SipMethod {
    /// The method from its token (exact, case-sensitive match).
    pub fn parse(token: &str) -> SipMethod {
        METHODS
            .iter()
            .find(|(_, t)| *t == token)
            .map_or_else(|| SipMethod::Other(token.to_string()), |(m, _)| m.clone())
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            SipMethod::Other(s) => s,
            named => METHODS
                .iter()
                .find(|(m, _)| m == named)
                .map_or("", |(_, t)| t),
        }
    }
}

impl fmt::Display for SipMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for SipMethod {
    type Err = core::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SipMethod::parse(s))
    }
}
