//! The Remote-Party-ID header (draft-ietf-sip-privacy-04, never an RFC but still sent by
//! many trunks and PBXes), as far as caller ID needs it:
//!
//! ```text
//! Remote-Party-ID = "Remote-Party-ID" HCOLON rpid *(COMMA rpid)
//! rpid        = [display-name] LAQUOT addr-spec RAQUOT *(SEMI rpi-token)
//! rpi-token   = rpi-screen / rpi-pty-type / rpi-id-type / rpi-privacy / other-rpi-token
//! rpi-screen  = "screen" EQUAL ("no" / "yes")
//! rpi-pty-type = "party" EQUAL ("calling" / "called" / token)
//! rpi-privacy = "privacy" EQUAL ("full" / "name" / "uri" / "off" / token)
//! ```

use core::fmt;

use super::name_addr::NameAddr;
use super::syntax::quote;

/// `party=`: which party the identity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpidParty {
    /// `calling`.
    Calling,
    /// `called`.
    Called,
    /// Another token.
    Other(String),
}

/// `privacy=`: what the party asks to hide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpidPrivacy {
    /// `off`: nothing.
    Off,
    /// `full`: name and URI.
    Full,
    /// `name`: the display name.
    Name,
    /// `uri`: the URI (the number).
    Uri,
    /// Another token.
    Other(String),
}

impl RpidPrivacy {
    /// True when the number must not be presented (`full`, `uri`).
    pub fn hides_number(&self) -> bool {
        matches!(self, RpidPrivacy::Full | RpidPrivacy::Uri)
    }

    /// True when the display name must not be presented (`full`, `name`).
    pub fn hides_name(&self) -> bool {
        matches!(self, RpidPrivacy::Full | RpidPrivacy::Name)
    }

    fn as_str(&self) -> &str {
        match self {
            RpidPrivacy::Off => "off",
            RpidPrivacy::Full => "full",
            RpidPrivacy::Name => "name",
            RpidPrivacy::Uri => "uri",
            RpidPrivacy::Other(t) => t,
        }
    }
}

/// One Remote-Party-ID value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePartyId {
    /// Display name.
    pub display: Option<String>,
    /// The URI text.
    pub uri: String,
    /// `party=`, if present.
    pub party: Option<RpidParty>,
    /// `screen=`: `Some(true)` for `yes`, `Some(false)` for `no`.
    pub screen: Option<bool>,
    /// `privacy=`, if present.
    pub privacy: Option<RpidPrivacy>,
}

impl RemotePartyId {
    /// Parses a Remote-Party-ID header value (several comma-separated values); values that
    /// do not parse are skipped. Token values are case-insensitive.
    pub fn parse_list(header: &str) -> Vec<RemotePartyId> {
        NameAddr::parse_list(header)
            .into_iter()
            .map(|n| {
                let token = |name: &str| n.param(name).flatten().map(str::to_ascii_lowercase);
                let party = token("party").map(|p| match p.as_str() {
                    "calling" => RpidParty::Calling,
                    "called" => RpidParty::Called,
                    _ => RpidParty::Other(p),
                });
                let screen = token("screen").and_then(|s| match s.as_str() {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                });
                let privacy = token("privacy").map(|p| match p.as_str() {
                    "off" => RpidPrivacy::Off,
                    "full" => RpidPrivacy::Full,
                    "name" => RpidPrivacy::Name,
                    "uri" => RpidPrivacy::Uri,
                    _ => RpidPrivacy::Other(p),
                });
                RemotePartyId {
                    display: n.display,
                    uri: n.uri,
                    party,
                    screen,
                    privacy,
                }
            })
            .collect()
    }

    /// The calling-party value of a header: the first with `party=calling`, else the first
    /// without a `party` parameter.
    pub fn calling(header: &str) -> Option<RemotePartyId> {
        let all = RemotePartyId::parse_list(header);
        let explicit = all.iter().position(|r| r.party == Some(RpidParty::Calling));
        let index = explicit.or_else(|| all.iter().position(|r| r.party.is_none()))?;
        all.into_iter().nth(index)
    }
}

impl fmt::Display for RemotePartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>", self.uri)?;
        match &self.party {
            Some(RpidParty::Calling) => f.write_str(";party=calling")?,
            Some(RpidParty::Called) => f.write_str(";party=called")?,
            Some(RpidParty::Other(t)) => write!(f, ";party={t}")?,
            None => {}
        }
        if let Some(screen) = self.screen {
            write!(f, ";screen={}", if screen { "yes" } else { "no" })?;
        }
        if let Some(p) = &self.privacy {
            write!(f, ";privacy={}", p.as_str())?;
        }
        Ok(())
    }
}
