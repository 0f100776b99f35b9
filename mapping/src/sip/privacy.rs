//! The Privacy header (RFC 3323 §4.2; `id` from RFC 3325 §9.3).
//!
//! ```text
//! Privacy-hdr = "Privacy" HCOLON priv-value *(";" priv-value)
//! priv-value  = "header" / "session" / "user" / "none" / "critical" / "id" / token
//! ```

use core::fmt;

/// One priv-value (case-insensitive on input).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrivacyValue {
    /// `none`: the user asks for no privacy.
    None,
    /// `header`: obscure headers that could identify the user.
    Header,
    /// `session`: anonymise the media (no effect on caller ID).
    Session,
    /// `user`: user-level privacy (anonymous From).
    User,
    /// `id` (RFC 3325): keep the asserted identity inside the trust domain.
    Id,
    /// `critical`: the call must fail if the privacy cannot be given.
    Critical,
    /// Another token, verbatim.
    Other(String),
}

impl PrivacyValue {
    fn parse(token: &str) -> PrivacyValue {
        match token.to_ascii_lowercase().as_str() {
            "none" => PrivacyValue::None,
            "header" => PrivacyValue::Header,
            "session" => PrivacyValue::Session,
            "user" => PrivacyValue::User,
            "id" => PrivacyValue::Id,
            "critical" => PrivacyValue::Critical,
            _ => PrivacyValue::Other(token.to_string()),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            PrivacyValue::None => "none",
            PrivacyValue::Header => "header",
            PrivacyValue::Session => "session",
            PrivacyValue::User => "user",
            PrivacyValue::Id => "id",
            PrivacyValue::Critical => "critical",
            PrivacyValue::Other(t) => t,
        }
    }
}

/// A parsed Privacy header value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Privacy(pub Vec<PrivacyValue>);

impl Privacy {
    /// Parses a Privacy header value. Values are `;`-separated; `,` is accepted too (seen
    /// in the field, and what joining two Privacy headers gives).
    pub fn parse(header: &str) -> Privacy {
        Privacy(
            header
                .split([';', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(PrivacyValue::parse)
                .collect(),
        )
    }

    /// True when `value` is present.
    pub fn contains(&self, value: &PrivacyValue) -> bool {
        self.0.contains(value)
    }

    /// True when the caller's identity must not be presented: `id`, `user` or `header`.
    /// `none`, `session` and `critical` do not hide it, and a restrictive value wins over
    /// `none` when both appear.
    pub fn hides_identity(&self) -> bool {
        self.0.iter().any(|v| {
            matches!(
                v,
                PrivacyValue::Id | PrivacyValue::User | PrivacyValue::Header
            )
        })
    }

    /// True when `critical` is present.
    pub fn is_critical(&self) -> bool {
        self.contains(&PrivacyValue::Critical)
    }
}

impl fmt::Display for Privacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(v.as_str())?;
        }
        Ok(())
    }
}
