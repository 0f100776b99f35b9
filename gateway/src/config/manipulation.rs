//! Digit manipulation of called and calling numbers: replace, strip, prefix.
//!
//! The steps run in this order, each on the result of the one before:
//! 1. `replace: {regex, with}`: the first match of the regex is replaced by `with`,
//!    where `$1`, `${name}` insert capture groups (`$$` is a literal `$`);
//! 2. `strip: N`: the first N characters are removed (all of them if there are fewer);
//! 3. `prefix: "..."`: the digits are put in front.

use super::digits::DigitString;
use super::number_regex::NumberRegex;
use serde::Deserialize;

/// `rewrite.called:` / `rewrite.calling:` one number's manipulation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRewrite {
    /// Replace the first match of a regex (step 1).
    #[serde(default)]
    pub replace: Option<Replace>,
    /// Remove this many leading characters (step 2). Default 0.
    #[serde(default)]
    pub strip: usize,
    /// Put these digits in front (step 3), quoted: `prefix: "+49"`.
    #[serde(default)]
    pub prefix: Option<DigitString>,
}

/// `replace:` a regex substitution.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replace {
    /// What to look for, e.g. `"^0([1-9])"`.
    pub regex: NumberRegex,
    /// What to put instead, e.g. `"+49$1"`.
    pub with: String,
}

impl NumberRewrite {
    /// Applies the three steps to `number`.
    pub fn apply(&self, number: &str) -> String {
        let replaced = match &self.replace {
            Some(r) => replace(r.regex.regex(), &r.with, number),
            None => number.to_owned(),
        };
        let stripped = strip(&replaced, self.strip);
        match &self.prefix {
            Some(p) => add_prefix(p.as_str(), stripped),
            None => stripped.to_owned(),
        }
    }
}

/// Replaces the first match of `regex` in `number` by `with` (`$1`, `${name}` expand).
pub fn replace(regex: &regex::Regex, with: &str, number: &str) -> String {
    regex.replace(number, with).into_owned()
}

/// Removes the first `count` characters (all of them if there are fewer).
pub fn strip(number: &str, count: usize) -> &str {
    match number.char_indices().nth(count) {
        Some((at, _)) => &number[at..],
        None => "",
    }
}

/// Puts `prefix` in front of `number`.
pub fn add_prefix(prefix: &str, number: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + number.len());
    out.push_str(prefix);
    out.push_str(number);
    out
}

/// Checks that every group `with` refers to (`$1`, `${2}`, `$name`, `${name}`) exists in
/// `regex`: the regex crate would silently insert nothing for a missing one.
pub fn check_replacement(regex: &regex::Regex, with: &str) -> Result<(), String> {
    let mut rest = with;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
            continue;
        }
        let (name, tail) = if let Some(braced) = rest.strip_prefix('{') {
            match braced.split_once('}') {
                Some((name, tail)) => (name, tail),
                None => {
                    return Err("unclosed `${` in `with` (write `$$` for a literal `$`)".to_owned());
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if name.is_empty() {
            return Err("`$` in `with` names no group (write `$$` for a literal `$`)".to_owned());
        }
        let exists = match name.parse::<usize>() {
            Ok(n) => n < regex.captures_len(),
            Err(_) => regex.capture_names().flatten().any(|g| g == name),
        };
        if !exists {
            return Err(format!(
                "`with` refers to group `{name}`, which the regex does not have"
            ));
        }
        rest = tail;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rewrite(replace: Option<(&str, &str)>, strip: usize, prefix: Option<&str>) -> NumberRewrite {
        NumberRewrite {
            replace: replace.map(|(r, w)| Replace {
                regex: NumberRegex::new(r).expect("test regex is valid"),
                with: w.to_owned(),
            }),
            strip,
            prefix: prefix.map(|p| DigitString::new(p).expect("test digits are valid")),
        }
    }

    #[test]
    fn strip_then_prefix() {
        assert_eq!(
            rewrite(None, 4, Some("+49")).apply("00493012345"),
            "+493012345"
        );
        assert_eq!(
            rewrite(None, 1, Some("+49")).apply("03012345"),
            "+493012345"
        );
        assert_eq!(rewrite(None, 0, None).apply("123"), "123");
        assert_eq!(rewrite(None, 9, None).apply("123"), "");
    }

    #[test]
    fn replace_runs_first_and_expands_groups() {
        let r = rewrite(Some(("^0([1-9])", "+49$1")), 0, None);
        assert_eq!(r.apply("03012345"), "+493012345");
        assert_eq!(r.apply("003012345"), "003012345", "no match, unchanged");
        let r = rewrite(Some(("^\\+49", "0")), 1, Some("9"));
        assert_eq!(r.apply("+493012345"), "93012345");
        let named = rewrite(Some(("^00(?P<rest>\\d+)$", "+${rest}")), 0, None);
        assert_eq!(named.apply("0044201"), "+44201");
    }

    #[test]
    fn replacement_groups_are_checked() {
        let re = regex::Regex::new("^0(?P<area>[1-9])(\\d+)").unwrap();
        assert!(check_replacement(&re, "+49$1$2").is_ok());
        assert!(check_replacement(&re, "+49${area}$$").is_ok());
        assert!(check_replacement(&re, "$3").is_err());
        assert!(check_replacement(&re, "$nope").is_err());
        assert!(check_replacement(&re, "${1").is_err());
        assert!(check_replacement(&re, "$").is_err());
    }

    proptest! {
        /// Stripping N and adding back the same N characters gives the number again.
        #[test]
        fn strip_and_prefix_round_trip(number in "[0-9]{0,20}", n in 0usize..25) {
            let n = n.min(number.len());
            let head = &number[..n];
            prop_assert_eq!(add_prefix(head, strip(&number, n)), number.clone());
        }

        /// Stripping never lengthens a number and removes exactly min(N, len) characters.
        #[test]
        fn strip_removes_exactly(number in "\\+?[0-9*#]{0,20}", n in 0usize..30) {
            prop_assert_eq!(strip(&number, n).len(), number.len().saturating_sub(n));
        }
    }
}
