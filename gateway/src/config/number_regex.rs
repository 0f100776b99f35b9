//! Regular expressions written in the configuration, compiled when it is read.

use serde::Deserialize;
use serde::de::{Deserializer, Error};
use std::fmt;

/// A regular expression (syntax of the `regex` crate) on a number. It is searched
/// anywhere in the number: anchor it with `^` and `$` to match the whole number.
#[derive(Clone)]
pub struct NumberRegex(pub regex::Regex);

impl NumberRegex {
    /// Compiles `pattern`; the error is one line, fit for a config error.
    pub fn new(pattern: &str) -> Result<NumberRegex, String> {
        regex::Regex::new(pattern)
            .map(NumberRegex)
            .map_err(|e| format!("invalid regex `{pattern}`: {}", one_line(&e)))
    }

    /// The regex.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

/// The regex crate explains a syntax error over several lines, with a caret under the
/// pattern; keep the last line, which says what is wrong.
fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_owned()
}

impl fmt::Debug for NumberRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.0.as_str())
    }
}

impl PartialEq for NumberRegex {
    fn eq(&self, other: &NumberRegex) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl<'de> Deserialize<'de> for NumberRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NumberRegex, D::Error> {
        let s = String::deserialize(d)?;
        NumberRegex::new(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_line() {
        let e = NumberRegex::new("^(49").unwrap_err();
        assert_eq!(e, "invalid regex `^(49`: unclosed group");
    }
}
