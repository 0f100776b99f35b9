//! Digit strings (numbers, prefixes): kept exactly as written, never read as YAML numbers.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The start of the error given for a digit string written without quotes. The error
/// report completes it with the text from the file.
pub(crate) const UNQUOTED_DIGITS: &str =
    "digit string must be quoted, or YAML reads it as a number and drops leading zeros and '+'";

/// A telephone number or number prefix: `"+4930123456"`, `"0049"`, `"*21#"`.
///
/// Holds only `0-9`, `*` and `#`, with an optional leading `+` (`"+"` alone is a valid
/// prefix: `00` -> `+`), and is never empty. In
/// YAML it must be a quoted string: an unquoted `0049` or `+49` is a YAML number (49) and
/// is refused with an error that says so, never converted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DigitString(String);

impl DigitString {
    /// Checks and wraps `text`.
    pub fn new(text: &str) -> Result<DigitString, String> {
        if text.is_empty() {
            return Err("a digit string must not be empty".to_owned());
        }
        let body = text.strip_prefix('+').unwrap_or(text);
        if let Some(bad) = body
            .chars()
            .find(|c| !(c.is_ascii_digit() || *c == '*' || *c == '#'))
        {
            return Err(format!(
                "`{bad}` is not allowed in a digit string (0-9, * and #, with an optional leading +)"
            ));
        }
        Ok(DigitString(text.to_owned()))
    }

    /// The digits as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DigitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DigitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Serialize for DigitString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

struct DigitVisitor;

impl DigitVisitor {
    fn unquoted<E: de::Error>(number: impl fmt::Display) -> E {
        E::custom(format!("{UNQUOTED_DIGITS} (read as the number {number})"))
    }
}

impl Visitor<'_> for DigitVisitor {
    type Value = DigitString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quoted digit string such as \"+4930123456\" or \"0049\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DigitString, E> {
        DigitString::new(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DigitString, E> {
        Err(Self::unquoted(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DigitString, E> {
        Err(Self::unquoted(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DigitString, E> {
        Err(Self::unquoted(v))
    }
}

impl<'de> Deserialize<'de> for DigitString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DigitString, D::Error> {
        d.deserialize_any(DigitVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_digits_star_hash_and_leading_plus() {
        for ok in ["+4930123456", "0049", "*21#", "1", "+"] {
            assert_eq!(
                DigitString::new(ok).map(|d| d.to_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in ["", "49 30", "4+9", "12a", "++"] {
            assert!(DigitString::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_yaml_numbers() {
        let n: serde_yaml::Value = serde_yaml::Value::Number(49.into());
        let e = DigitString::deserialize(n).unwrap_err().to_string();
        assert!(e.starts_with(UNQUOTED_DIGITS), "{e}");
        let s = serde_yaml::Value::String("0049".into());
        assert_eq!(DigitString::deserialize(s).unwrap().as_str(), "0049");
    }
}
