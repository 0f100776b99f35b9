//! Lexical pieces of RFC 3261 §25.1 shared by the header grammars: tokens, quoted
//! strings, comma lists and `;name=value` parameters. All work on `&str` slices and never
//! panic on peer input.

use core::fmt;

/// True for a `token` character (RFC 3261 §25.1).
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~'
        )
}

/// True when `s` is a non-empty `token`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits `s` at `sep` outside quoted strings and `<...>` (RFC 3261 §7.3.1: a comma
/// inside a display name or a URI does not separate values).
pub fn split_outside(s: &str, sep: u8) -> SplitOutside<'_> {
    SplitOutside { rest: Some(s), sep }
}

/// Iterator of [`split_outside`].
pub struct SplitOutside<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitOutside<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let bytes = s.as_bytes();
        let mut in_quotes = false;
        let mut angle = 0usize;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if in_quotes {
                match b {
                    b'\\' => i += 1,
                    b'"' => in_quotes = false,
                    _ => {}
                }
            } else if b == b'"' {
                in_quotes = true;
            } else if b == b'<' {
                angle += 1;
            } else if b == b'>' {
                angle = angle.saturating_sub(1);
            } else if b == self.sep && angle == 0 {
                // `sep` is ASCII, so `i` and `i + 1` are char boundaries.
                self.rest = Some(&s[i + 1..]);
                return Some(&s[..i]);
            }
            i += 1;
        }
        self.rest = None;
        Some(s)
    }
}

/// Reads a quoted-string at the start of `s` (after optional whitespace). Returns the raw
/// quoted text including its quotes, and what follows it; `None` when `s` does not start
/// with `"` or the string is not terminated.
pub fn take_quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            // A quoted-pair escapes any byte but CR/LF; skip the whole UTF-8 char after it.
            b'\\' => {
                i += 1;
                while i + 1 < bytes.len() && !s.is_char_boundary(i + 1) {
                    i += 1;
                }
            }
            // ASCII quote: `i + 1` is a char boundary.
            b'"' => return Some((&s[..i + 1], &s[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Removes the quotes and resolves quoted-pairs of a raw quoted-string; a token is
/// returned as it is.
pub fn unquote(raw: &str) -> std::borrow::Cow<'_, str> {
    let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| raw.len() >= 2)
    else {
        return std::borrow::Cow::Borrowed(raw);
    };
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(e) = chars.next() {
                out.push(e);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes `text` as a quoted-string: `"` and `\` escaped, CR/LF turned into spaces so a
/// value can never end a header line.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One generic-param (RFC 3261 §25.1 `generic-param`), kept as written: the name in its
/// original case, the value raw (a quoted-string keeps its quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Name as written (names compare case-insensitively).
    pub name: String,
    /// Raw value; `None` for a flag parameter such as `lr` or `rport`.
    pub value: Option<String>,
}

/// An ordered parameter list (`;a=1;b;c="x y"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// Parses the text after the first `;` of a parameter list. Whitespace around `;` and
    /// `=` is allowed (RFC 3261 §25.1 SEMI, EQUAL); an empty parameter, a name that is not
    /// a token, or an unterminated quoted value is an error.
    pub fn parse(s: &str) -> Result<Params, &'static str> {
        let mut out = Vec::new();
        for piece in split_outside(s, b';') {
            let piece = piece.trim();
            if piece.is_empty() {
                return Err("empty parameter");
            }
            let (name, value) = match piece.split_once('=') {
                Some((n, v)) => (n.trim_end(), Some(v.trim_start())),
                None => (piece, None),
            };
            if !is_token(name) {
                return Err("parameter name is not a token");
            }
            if let Some(v) = value {
                if v.is_empty() {
                    return Err("empty parameter value");
                }
                if v.starts_with('"') {
                    match take_quoted(v) {
                        Some((_, rest)) if rest.trim().is_empty() => {}
                        _ => return Err("unterminated quoted parameter value"),
                    }
                } else if v.contains(|c: char| c.is_whitespace() || c == '"') {
                    return Err("white space in a parameter value");
                }
            }
            out.push(Param {
                name: name.to_string(),
                value: value.map(str::to_string),
            });
        }
        Ok(Params(out))
    }

    /// Parses an optional parameter list: `None` (no `;`) gives an empty list.
    pub fn parse_opt(s: Option<&str>) -> Result<Params, &'static str> {
        s.map_or(Ok(Params::default()), Params::parse)
    }

    /// The raw value of the first parameter `name` (case-insensitive): `Some(None)` for a
    /// flag, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }

    /// The value of parameter `name` with quotes removed.
    pub fn value(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get(name).flatten().map(unquote)
    }

    /// True when parameter `name` is present (with or without a value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets parameter `name` (replacing the first of that name, else appending).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value,
            None => self.0.push(Param {
                name: name.to_string(),
                value,
            }),
        }
    }

    /// Removes every parameter `name`; returns whether one was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        self.0.len() != before
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Param> {
        self.0.iter()
    }
}

impl fmt::Display for Params {
    /// Writes `;name=value` for each parameter (empty for none).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match &p.value {
                Some(v) => write!(f, ";{}={}", p.name, v)?,
                None => write!(f, ";{}", p.name)?,
            }
        }
        Ok(())
    }
}

/// Parses a decimal number of at most `max`; `Err` names why (no digits / too large).
pub fn parse_number(s: &str, max: u64) -> Result<u64, &'static str> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a number");
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or("number too large")?;
    }
    if v > max {
        return Err("number too large");
    }
    Ok(v)
}

/// Like [`parse_number`] but a too-large value saturates at `max` (RFC 3261 §20.19,
/// §20.10: a delta-seconds above 2^32-1 counts as 2^32-1).
pub fn parse_number_saturating(s: &str, max: u64) -> Result<u64, &'static str> {
    match parse_number(s, max) {
        Err("number too large") => Ok(max),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_angles() {
        let v: Vec<_> = split_outside(r#""a,b" <sip:x@y;p=1,2>, c"#, b',').collect();
        assert_eq!(v, vec![r#""a,b" <sip:x@y;p=1,2>"#, " c"]);
        let v: Vec<_> = split_outside(r#""a\",b", c"#, b',').collect();
        assert_eq!(v.len(), 2);
        assert_eq!(split_outside("", b',').collect::<Vec<_>>(), vec![""]);
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(
            take_quoted(r#" "a \"b\" é" rest"#),
            Some((r#""a \"b\" é""#, " rest"))
        );
        assert_eq!(take_quoted(r#""open"#), None);
        assert_eq!(take_quoted("\"x\\"), None);
        assert_eq!(unquote(r#""a \"b\"""#), r#"a "b""#);
        assert_eq!(unquote("tok"), "tok");
        assert_eq!(unquote("\""), "\"");
        assert_eq!(quote("say \"hi\"\r\n"), r#""say \"hi\"  ""#);
    }

    #[test]
    fn params_parse_and_print() {
        let p = Params::parse(r#" tag = 1a ;lr; Text="a;b""#).unwrap();
        assert_eq!(p.get("TAG"), Some(Some("1a")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("text").as_deref(), Some("a;b"));
        assert_eq!(p.to_string(), r#";tag=1a;lr;Text="a;b""#);
        assert!(Params::parse(";;").is_err());
        assert!(Params::parse("a=").is_err());
        assert!(Params::parse("a=\"x").is_err());
        assert!(Params::parse("a b=1").is_err());
        let mut p = Params::default();
        p.set("tag", Some("x"));
        p.set("TAG", Some("y"));
        assert_eq!(p.to_string(), ";tag=y");
        assert!(p.remove("tag") && p.is_empty());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0068", 255), Ok(68));
        assert_eq!(parse_number("300", 255), Err("number too large"));
        assert_eq!(parse_number("-1", 255), Err("not a number"));
        assert_eq!(
            parse_number("99999999999999999999999", u64::MAX),
            Err("number too large")
        );
        assert_eq!(parse_number_saturating("1e", 9), Err("not a number"));
        assert_eq!(parse_number_saturating("100000000000", 10), Ok(10));
    }
}
