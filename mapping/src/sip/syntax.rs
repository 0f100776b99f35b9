//! Small pieces of RFC 3261 §25.1 header syntax that the SIP tables share: quoted strings,
//! comma-separated values and `;name=value` parameters.
//!
//! These read header values that came from peers, so they are lenient and never panic: a
//! piece that does not parse is skipped, never trusted.

/// Splits `s` at `sep` where `sep` is outside a quoted string and outside `<...>`.
pub(crate) fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = 0usize;
    for (i, c) in s.char_indices() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            c if c == sep && angle == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Reads a quoted-string (RFC 3261 §25.1) at the start of `s`, resolving quoted-pairs.
/// Returns the text and what follows the closing quote; `None` when `s` does not start
/// with `"` or the string is not terminated.
pub(crate) fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, escaped) = chars.next()?;
                out.push(escaped);
            }
            '"' => return Some((out, &rest[i + 1..])),
            _ => out.push(c),
        }
    }
    None
}

/// Writes `text` as a quoted-string: `"` and `\` escaped; CR and LF (which a quoted-pair
/// cannot carry) become spaces, so a text can never end a header line.
pub(crate) fn quote(text: &str) -> String {
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

/// A generic-param (RFC 3261 §25.1): name lower-cased, value unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name, lower-cased (parameter names are case-insensitive).
    pub name: String,
    /// Value, with a quoted-string unquoted; `None` for a flag parameter.
    pub value: Option<String>,
}

/// Parses `;`-separated parameters (the text after the first `;`).
pub(crate) fn parse_params(s: &str) -> Vec<Param> {
    split_outside(s, ';')
        .into_iter()
        .filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(unquote_value(v.trim()))),
                None => (p, None),
            };
            if name.is_empty() {
                return None;
            }
            Some(Param {
                name: name.to_ascii_lowercase(),
                value,
            })
        })
        .collect()
}

/// A parameter value: a quoted-string is unquoted, a token is taken as it is.
fn unquote_value(v: &str) -> String {
    match parse_quoted(v) {
        Some((text, _)) => text,
        None => v.to_string(),
    }
}

/// The value of the first parameter called `name` (lower-case): `Some(None)` for a flag.
pub(crate) fn find_param<'p>(params: &'p [Param], name: &str) -> Option<Option<&'p str>> {
    params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_angles() {
        assert_eq!(
            split_outside(r#""a,b" <sip:x@y;p=1,2>, c"#, ','),
            vec![r#""a,b" <sip:x@y;p=1,2>"#, " c"]
        );
    }

    #[test]
    fn quoted_pairs_round_trip() {
        let q = quote(r#"say "hi" \o/"#);
        assert_eq!(q, r#""say \"hi\" \\o/""#);
        assert_eq!(parse_quoted(&q), Some((r#"say "hi" \o/"#.to_string(), "")));
        assert_eq!(parse_quoted(r#""open"#), None);
    }

    #[test]
    fn params_lowercase_names_and_unquote() {
        let p = parse_params(r#" Cause = 16 ;TEXT="a;b" ;flag"#);
        assert_eq!(find_param(&p, "cause"), Some(Some("16")));
        assert_eq!(find_param(&p, "text"), Some(Some("a;b")));
        assert_eq!(find_param(&p, "flag"), Some(None));
        assert_eq!(find_param(&p, "none"), None);
    }
}
