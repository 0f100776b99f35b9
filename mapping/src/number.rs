//! Party numbers as the call model carries them: digits plus the Q.931 §4.5.10
//! octet 3/3a qualifiers (type of number, numbering plan, presentation, screening).
//!
//! A caller ID must survive SIP -> H.323 -> PRI and back, so every qualifier is kept
//! even where one protocol cannot express it.

use core::fmt;

crate::wire_enum! {
    /// Type of number, Q.931 §4.5.10 octet 3 bits 7-5 (also ISUP nature of address via
    /// the ISUP adapter).
    pub struct TypeOfNumber(u8) {
        /// Unknown.
        UNKNOWN = 0 => "unknown",
        /// International number.
        INTERNATIONAL = 1 => "international",
        /// National number.
        NATIONAL = 2 => "national",
        /// Network specific number.
        NETWORK_SPECIFIC = 3 => "network-specific",
        /// Subscriber number.
        SUBSCRIBER = 4 => "subscriber",
        /// Abbreviated number.
        ABBREVIATED = 6 => "abbreviated",
    }
}

crate::wire_enum! {
    /// Numbering plan identification, Q.931 §4.5.10 octet 3 bits 4-1.
    pub struct NumberingPlan(u8) {
        /// Unknown.
        UNKNOWN = 0 => "unknown",
        /// ISDN/telephony numbering plan (E.164).
        ISDN = 1 => "isdn",
        /// Data numbering plan (X.121).
        DATA = 3 => "data",
        /// Telex numbering plan (F.69).
        TELEX = 4 => "telex",
        /// National standard numbering plan.
        NATIONAL = 8 => "national",
        /// Private numbering plan.
        PRIVATE = 9 => "private",
    }
}

crate::wire_enum! {
    /// Presentation indicator, Q.931 §4.5.10 octet 3a bits 7-6.
    pub struct Presentation(u8) {
        /// Presentation allowed.
        ALLOWED = 0 => "allowed",
        /// Presentation restricted.
        RESTRICTED = 1 => "restricted",
        /// Number not available due to interworking.
        NOT_AVAILABLE = 2 => "not-available",
    }
}

crate::wire_enum! {
    /// Screening indicator, Q.931 §4.5.10 octet 3a bits 2-1.
    pub struct Screening(u8) {
        /// User-provided, not screened.
        USER_NOT_SCREENED = 0 => "user-provided-not-screened",
        /// User-provided, verified and passed.
        USER_VERIFIED_PASSED = 1 => "user-provided-verified-and-passed",
        /// User-provided, verified and failed.
        USER_VERIFIED_FAILED = 2 => "user-provided-verification-failed",
        /// Network provided.
        NETWORK_PROVIDED = 3 => "network-provided",
    }
}

/// Why a digit string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigitsError {
    /// A character outside `0-9 * # A-D` (and a leading `+` where allowed).
    #[error("invalid digit {0:?} at position {1}")]
    InvalidDigit(char, usize),
}

/// A digit string: `0-9`, `*`, `#`, `A`-`D` (IA5 digits as Q.931 carries them).
///
/// Digits are a string, never an integer: a leading `0` or `00` is meaning, not padding.
/// A leading `+` is not a digit: it is turned into [`TypeOfNumber::INTERNATIONAL`] by
/// [`PartyNumber::from_e164_or_local`].
#[derive(Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Digits(String);

impl Digits {
    /// The empty digit string.
    pub fn empty() -> Self {
        Digits(String::new())
    }

    /// Validates and wraps a digit string (lower-case `a-d` are accepted and upper-cased).
    pub fn new(s: &str) -> Result<Self, DigitsError> {
        let mut out = String::with_capacity(s.len());
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' | '*' | '#' | 'A'..='D' => out.push(c),
                'a'..='d' => out.push(c.to_ascii_uppercase()),
                _ => return Err(DigitsError::InvalidDigit(c, i)),
            }
        }
        Ok(Digits(out))
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no digits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Numbers are personal data: Debug prints them redacted (see `crate::pii`).
        write!(f, "Digits({})", crate::pii::Redacted(self.as_str()))
    }
}

impl core::str::FromStr for Digits {
    type Err = DigitsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digits::new(s)
    }
}

/// A party number: digits with Q.931 qualifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartyNumber {
    /// The digits, without any `+`.
    pub digits: Digits,
    /// Type of number.
    pub ton: TypeOfNumber,
    /// Numbering plan.
    pub npi: NumberingPlan,
    /// Presentation; `None` when the source did not say (Q.931 octet 3a absent).
    pub presentation: Option<Presentation>,
    /// Screening; `None` when the source did not say.
    pub screening: Option<Screening>,
}

impl PartyNumber {
    /// A number of unknown type and plan, presentation not stated.
    pub fn unknown(digits: Digits) -> Self {
        PartyNumber {
            digits,
            ton: TypeOfNumber::UNKNOWN,
            npi: NumberingPlan::UNKNOWN,
            presentation: None,
            screening: None,
        }
    }

    /// `+4930123` -> international/ISDN `4930123`; anything else -> unknown/unknown.
    pub fn from_e164_or_local(s: &str) -> Result<Self, DigitsError> {
        match s.strip_prefix('+') {
            Some(rest) => Ok(PartyNumber {
                digits: Digits::new(rest)?,
                ton: TypeOfNumber::INTERNATIONAL,
                npi: NumberingPlan::ISDN,
                presentation: None,
                screening: None,
            }),
            None => Ok(PartyNumber::unknown(Digits::new(s)?)),
        }
    }

    /// True when presentation is restricted.
    pub fn is_restricted(&self) -> bool {
        self.presentation == Some(Presentation::RESTRICTED)
    }
}
