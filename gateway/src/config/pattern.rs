//! Dial-plan patterns: `+49X.`, `0[1-9]XXXXXX`, `NXXNXXXXXX`.
//!
//! Syntax (one element per character of the number, case-insensitive letters):
//!
//! | element | matches |
//! |---|---|
//! | `0`-`9`, `+`, `*`, `#` | itself |
//! | `X` | any digit 0-9 |
//! | `Z` | any digit 1-9 |
//! | `N` | any digit 2-9 |
//! | `[...]` | one digit of the set: digits and ranges, e.g. `[1-47]` is 1, 2, 3, 4 or 7 |
//! | `.` | only at the end: one or more further characters, whatever they are |
//!
//! A pattern without a final `.` matches numbers of exactly its length.

use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::fmt;

/// One position of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// A literal character (digit, `+`, `*`, `#`).
    Literal(u8),
    /// A set of digits, bit `d` for digit `d`.
    Digits(u16),
}

impl Element {
    fn matches(self, c: u8) -> bool {
        match self {
            Element::Literal(l) => l == c,
            Element::Digits(set) => c.is_ascii_digit() && set & (1 << (c - b'0')) != 0,
        }
    }
}

const ALL_DIGITS: u16 = 0b11_1111_1111;

/// A parsed dial-plan pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct DialPattern {
    text: String,
    elements: Vec<Element>,
    /// Ends with `.`: one or more further characters.
    open: bool,
}

impl DialPattern {
    /// Parses a pattern; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<DialPattern, String> {
        let bytes = text.as_bytes();
        let mut elements = Vec::new();
        let mut open = false;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let at = i + 1;
            match c {
                b'0'..=b'9' | b'*' | b'#' => elements.push(Element::Literal(c)),
                b'+' if i == 0 => elements.push(Element::Literal(c)),
                b'+' => return Err(format!("`+` may only start a pattern (position {at})")),
                b'X' | b'x' => elements.push(Element::Digits(ALL_DIGITS)),
                b'Z' | b'z' => elements.push(Element::Digits(ALL_DIGITS & !1)),
                b'N' | b'n' => elements.push(Element::Digits(ALL_DIGITS & !0b11)),
                b'.' if i + 1 == bytes.len() && !elements.is_empty() => open = true,
                b'.' => {
                    return Err(format!(
                        "`.` may only end a pattern, after at least one element (position {at})"
                    ));
                }
                b'[' => {
                    let close = text[i..]
                        .find(']')
                        .map(|off| i + off)
                        .ok_or_else(|| format!("`[` at position {at} is not closed"))?;
                    elements.push(Element::Digits(digit_set(&text[i + 1..close], at)?));
                    i = close;
                }
                _ => {
                    let ch = text[i..].chars().next().unwrap_or('?');
                    return Err(format!(
                        "`{ch}` at position {at} is not allowed (digits, + * #, X Z N, [...] and a final .)"
                    ));
                }
            }
            i += 1;
        }
        if elements.is_empty() {
            return Err("a pattern needs at least one element".to_owned());
        }
        Ok(DialPattern {
            text: text.to_owned(),
            elements,
            open,
        })
    }

    /// Whether `number` matches the whole pattern.
    pub fn matches(&self, number: &str) -> bool {
        let n = number.as_bytes();
        let fixed = self.elements.len();
        let length_ok = if self.open {
            n.len() > fixed
        } else {
            n.len() == fixed
        };
        length_ok && self.elements.iter().zip(n).all(|(e, c)| e.matches(*c))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The inside of `[...]`: digits and ranges `a-b`.
fn digit_set(inside: &str, at: usize) -> Result<u16, String> {
    let b = inside.as_bytes();
    if b.is_empty() {
        return Err(format!("empty set `[]` at position {at}"));
    }
    let mut set = 0u16;
    let mut i = 0;
    while i < b.len() {
        let lo = b[i];
        if !lo.is_ascii_digit() {
            return Err(format!(
                "`{}` in the set at position {at}: only digits and ranges a-b",
                inside[i..].chars().next().unwrap_or('?')
            ));
        }
        if b.get(i + 1) == Some(&b'-') {
            let hi = *b
                .get(i + 2)
                .filter(|h| h.is_ascii_digit())
                .ok_or_else(|| format!("unfinished range in the set at position {at}"))?;
            if hi < lo {
                return Err(format!(
                    "range {}-{} in the set at position {at} goes downwards",
                    lo as char, hi as char
                ));
            }
            for d in lo..=hi {
                set |= 1 << (d - b'0');
            }
            i += 3;
        } else {
            set |= 1 << (lo - b'0');
            i += 1;
        }
    }
    Ok(set)
}

impl fmt::Debug for DialPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DialPattern({})", self.text)
    }
}

impl fmt::Display for DialPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for DialPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DialPattern, D::Error> {
        let s = String::deserialize(d)?;
        DialPattern::parse(&s).map_err(|e| D::Error::custom(format!("invalid pattern `{s}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(text: &str) -> DialPattern {
        DialPattern::parse(text).expect("test pattern is valid")
    }

    #[test]
    fn literal_and_classes() {
        assert!(p("+49X.").matches("+4930123"));
        assert!(!p("+49X.").matches("+49"));
        assert!(!p("+49X.").matches("+493"), "`.` needs one more character");
        assert!(p("0[1-9]XXXXXX").matches("03012345"));
        assert!(!p("0[1-9]XXXXXX").matches("00123456"));
        assert!(!p("0[1-9]XXXXXX").matches("030123456"), "exact length");
        assert!(p("NXXNXXXXXX").matches("2125551234"));
        assert!(!p("NXXNXXXXXX").matches("1125551234"));
        assert!(p("Z").matches("1") && !p("Z").matches("0"));
        assert!(p("[1-47]").matches("7") && !p("[1-47]").matches("5"));
        assert!(p("*21#").matches("*21#"));
        assert!(p("nxx").matches("200"), "letters are case-insensitive");
    }

    #[test]
    fn refuses_bad_patterns() {
        for (bad, why) in [
            ("", "at least one"),
            (".", "may only end"),
            ("1.2", "may only end"),
            ("4+9", "may only start"),
            ("[12", "not closed"),
            ("[]", "empty set"),
            ("[5-1]", "downwards"),
            ("[a]", "only digits"),
            ("[1-]", "unfinished"),
            ("49Y", "`Y` at position 3"),
        ] {
            let e = DialPattern::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    proptest! {
        /// A number always matches itself as a pattern, and with a `.` added after any
        /// proper prefix of it.
        #[test]
        fn numbers_match_themselves(number in "\\+?[0-9*#]{1,15}", cut in 0usize..15) {
            prop_assert!(p(&number).matches(&number));
            if number.len() > 1 {
                let cut = 1 + cut % (number.len() - 1);
                let open = format!("{}.", &number[..cut]);
                prop_assert!(p(&open).matches(&number), "{} vs {}", open, number);
            }
        }

        /// `X` matches every digit and nothing else.
        #[test]
        fn x_is_any_digit(c in proptest::char::any()) {
            prop_assert_eq!(p("X").matches(&c.to_string()), c.is_ascii_digit());
        }
    }
}
