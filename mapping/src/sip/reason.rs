//! The Reason header (RFC 3326), both ways, with the ISUP cause location parameter of
//! RFC 8606.
//!
//! ```text
//! Reason       = "Reason" HCOLON reason-value *(COMMA reason-value)
//! reason-value = protocol *(SEMI reason-params)
//! protocol     = "SIP" / "Q.850" / token
//! reason-params = protocol-cause / reason-text / reason-extension
//! protocol-cause = "cause" EQUAL cause        ; 1*DIGIT
//! reason-text  = "text" EQUAL quoted-string
//! ```
//!
//! A received Q.850 Reason is the cause the far network released with, so it takes
//! precedence over the cause derived from a SIP status (RFC 3398 §8.2.6.1 first paragraph
//! says the same of an encapsulated REL; RFC 6432 makes Q.850 Reasons in responses normal).

use core::fmt;

use super::reason_phrase::reason_phrase;
use super::syntax::{find_param, parse_params, quote, split_outside};
use crate::cause::{Cause, Location, Q850Cause};

/// The protocol of a reason-value. The token is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReasonProtocol {
    /// `SIP`: the cause is a SIP status code.
    Sip,
    /// `Q.850`: the cause is a Q.850 cause value.
    Q850,
    /// Any other protocol token (`preemption`, 3GPP tokens ...), kept verbatim; ignored by
    /// the cause selection below.
    Other(String),
}

/// One reason-value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonValue {
    /// Protocol.
    pub protocol: ReasonProtocol,
    /// The `cause` parameter; `None` when absent or not a number.
    pub cause: Option<u16>,
    /// The `text` parameter, unquoted.
    pub text: Option<String>,
    /// RFC 8606 `location` parameter of a Q.850 reason, when present and known.
    pub location: Option<Location>,
}

/// RFC 8606 §3 location tokens <-> Q.850 locations.
pub static LOCATION_TOKENS: &[(&str, Location)] = &[
    ("U", Location::USER),
    ("LPN", Location::PRIVATE_LOCAL),
    ("LN", Location::PUBLIC_LOCAL),
    ("TN", Location::TRANSIT),
    ("RLN", Location::PUBLIC_REMOTE),
    ("RPN", Location::PRIVATE_REMOTE),
    ("INTL", Location::INTERNATIONAL),
    ("BI", Location::BEYOND_INTERWORKING),
];

fn location_from_token(token: &str) -> Option<Location> {
    LOCATION_TOKENS
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(token))
        .map(|(_, l)| *l)
}

fn location_token(location: Location) -> Option<&'static str> {
    LOCATION_TOKENS
        .iter()
        .find(|(_, l)| *l == location)
        .map(|(t, _)| *t)
}

/// The Q.850 Table 1 text for a cause, from its name (`normal-call-clearing` ->
/// `Normal call clearing`); `None` for values we have no name for.
pub fn q850_text(cause: Q850Cause) -> Option<String> {
    let name = cause.name()?;
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        match c {
            '-' => out.push(' '),
            c if i == 0 => out.push(c.to_ascii_uppercase()),
            c => out.push(c),
        }
    }
    Some(out)
}

impl ReasonValue {
    /// `Q.850;cause=N;text="..."` for a cause value.
    pub fn q850(cause: Q850Cause) -> ReasonValue {
        ReasonValue {
            protocol: ReasonProtocol::Q850,
            cause: Some(u16::from(cause.0)),
            text: q850_text(cause),
            location: None,
        }
    }

    /// `Q.850;cause=N;text="...";location=X` (RFC 8606) for a cause with its location.
    pub fn q850_with_location(cause: Cause) -> ReasonValue {
        ReasonValue {
            location: Some(cause.location),
            ..ReasonValue::q850(cause.value)
        }
    }

    /// `SIP;cause=N;text="..."` for a SIP status (text from the reason-phrase table).
    pub fn sip(status: u16) -> ReasonValue {
        ReasonValue {
            protocol: ReasonProtocol::Sip,
            cause: Some(status),
            text: reason_phrase(status).map(str::to_string),
            location: None,
        }
    }

    /// The Q.850 cause this value carries: protocol Q.850 and a cause of 0-127. The
    /// location is the RFC 8606 parameter, else `default_location`.
    pub fn q850_cause(&self, default_location: Location) -> Option<Cause> {
        if self.protocol != ReasonProtocol::Q850 {
            return None;
        }
        let value = u8::try_from(self.cause?).ok().filter(|v| *v <= 127)?;
        Some(Cause {
            value: Q850Cause(value),
            location: self.location.unwrap_or(default_location),
        })
    }

    /// The SIP status this value carries: protocol SIP and a cause of 100-699.
    pub fn sip_status(&self) -> Option<u16> {
        match (&self.protocol, self.cause) {
            (ReasonProtocol::Sip, Some(c)) if (100..=699).contains(&c) => Some(c),
            _ => None,
        }
    }

    /// Parses one reason-value; `None` when it has no protocol token.
    pub fn parse(s: &str) -> Option<ReasonValue> {
        let s = s.trim();
        let (protocol, params) = match s.split_once(';') {
            Some((p, rest)) => (p.trim(), parse_params(rest)),
            None => (s, Vec::new()),
        };
        if protocol.is_empty() || protocol.contains(char::is_whitespace) {
            return None;
        }
        let protocol = if protocol.eq_ignore_ascii_case("SIP") {
            ReasonProtocol::Sip
        } else if protocol.eq_ignore_ascii_case("Q.850") {
            ReasonProtocol::Q850
        } else {
            ReasonProtocol::Other(protocol.to_string())
        };
        let cause = find_param(&params, "cause")
            .flatten()
            .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse().ok());
        let text = find_param(&params, "text").flatten().map(str::to_string);
        let location = match protocol {
            ReasonProtocol::Q850 => find_param(&params, "location")
                .flatten()
                .and_then(location_from_token),
            _ => None,
        };
        Some(ReasonValue {
            protocol,
            cause,
            text,
            location,
        })
    }
}

impl fmt::Display for ReasonValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.protocol {
            ReasonProtocol::Sip => f.write_str("SIP")?,
            ReasonProtocol::Q850 => f.write_str("Q.850")?,
            ReasonProtocol::Other(token) => f.write_str(token)?,
        }
        if let Some(cause) = self.cause {
            write!(f, ";cause={cause}")?;
        }
        if let Some(text) = &self.text {
            write!(f, ";text={}", quote(text))?;
        }
        if let Some(token) = self.location.and_then(location_token) {
            write!(f, ";location={token}")?;
        }
        Ok(())
    }
}

/// Parses a Reason header value: comma-separated reason-values; values without a protocol
/// are skipped, unknown protocols and parameters are kept but ignored by the selectors.
pub fn parse_reason(header: &str) -> Vec<ReasonValue> {
    split_outside(header, ',')
        .into_iter()
        .filter_map(ReasonValue::parse)
        .collect()
}

/// Formats reason-values as one Reason header value (comma-separated).
pub fn format_reason(values: &[ReasonValue]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&v.to_string());
    }
    out
}

/// The first Q.850 cause in a Reason header value (location from RFC 8606, else
/// `default_location`).
pub fn q850_from_reason(header: &str, default_location: Location) -> Option<Cause> {
    parse_reason(header)
        .iter()
        .find_map(|v| v.q850_cause(default_location))
}

/// The first SIP status in a Reason header value.
pub fn sip_status_from_reason(header: &str) -> Option<u16> {
    parse_reason(header)
        .iter()
        .find_map(ReasonValue::sip_status)
}
