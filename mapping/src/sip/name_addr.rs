//! `name-addr` / `addr-spec` header values and the URIs inside them (RFC 3261 §20.10,
//! §19.1; RFC 3966 for `tel:`), as far as caller ID needs them.
//!
//! Lenient and panic-free: a value that does not parse gives `None`.

use super::syntax::{Param, find_param, parse_params, parse_quoted, split_outside};

/// A From / To / P-Asserted-Identity / Remote-Party-ID value: display name, URI, and the
/// header parameters after the URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted; `None` when absent or empty.
    pub display: Option<String>,
    /// The URI text (without the angle brackets).
    pub uri: String,
    /// Header parameters after the URI (`;tag=`, `;party=` ...).
    pub params: Vec<Param>,
}

impl NameAddr {
    /// Parses one name-addr or addr-spec value (RFC 3261 §20.10: with angle brackets,
    /// everything after `>` is header parameters; without, everything after the first `;`).
    pub fn parse(s: &str) -> Option<NameAddr> {
        let s = s.trim();
        let (display, rest) = if s.starts_with('"') {
            let (d, rest) = parse_quoted(s)?;
            (Some(d), rest.trim_start())
        } else if let Some(lt) = s.find('<') {
            (Some(s[..lt].trim().to_string()), &s[lt..])
        } else {
            (None, s)
        };
        let (uri, params) = if let Some(inner) = rest.strip_prefix('<') {
            let gt = inner.find('>')?;
            let after = inner[gt + 1..].trim_start();
            let params = match after.strip_prefix(';') {
                Some(p) => parse_params(p),
                None => Vec::new(),
            };
            (inner[..gt].trim(), params)
        } else if display.is_some() {
            // A quoted display name must be followed by <uri>.
            return None;
        } else {
            match rest.split_once(';') {
                Some((u, p)) => (u.trim(), parse_params(p)),
                None => (rest, Vec::new()),
            }
        };
        if uri.is_empty() {
            return None;
        }
        Some(NameAddr {
            display: display.filter(|d| !d.is_empty()),
            uri: uri.to_string(),
            params,
        })
    }

    /// Parses a header value holding several comma-separated name-addrs (P-Asserted-Identity,
    /// Remote-Party-ID); values that do not parse are skipped.
    pub fn parse_list(s: &str) -> Vec<NameAddr> {
        split_outside(s, ',')
            .into_iter()
            .filter_map(NameAddr::parse)
            .collect()
    }

    /// The value of header parameter `name` (lower-case); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
}

/// URI schemes caller ID understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriScheme {
    /// `sip:` (RFC 3261 §19.1).
    Sip,
    /// `sips:`.
    Sips,
    /// `tel:` (RFC 3966).
    Tel,
    /// Anything else (`http:`, `urn:` ...).
    Other,
}

/// The parts of a SIP, SIPS or tel URI that caller ID needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Scheme.
    pub scheme: UriScheme,
    /// User part (sip/sips) or the telephone-subscriber number (tel), percent-decoded,
    /// without password and without telephone-subscriber parameters (`;isub=` ...).
    pub user: Option<String>,
    /// Host (empty for tel).
    pub host: String,
    /// URI parameters (`;user=phone`; for tel `;phone-context=` ...).
    pub params: Vec<Param>,
}

impl Uri {
    /// Parses a `sip:`, `sips:` or `tel:` URI; other schemes give [`UriScheme::Other`].
    pub fn parse(s: &str) -> Option<Uri> {
        let (scheme, rest) = s.trim().split_once(':')?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "sip" => UriScheme::Sip,
            "sips" => UriScheme::Sips,
            "tel" => UriScheme::Tel,
            _ => {
                return Some(Uri {
                    scheme: UriScheme::Other,
                    user: None,
                    host: String::new(),
                    params: Vec::new(),
                });
            }
        };
        // Headers (`?...`) are never caller ID.
        let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
        if scheme == UriScheme::Tel {
            let (number, params) = match rest.split_once(';') {
                Some((n, p)) => (n, parse_params(p)),
                None => (rest, Vec::new()),
            };
            return Some(Uri {
                scheme,
                user: Some(percent_decode(number)).filter(|u| !u.is_empty()),
                host: String::new(),
                params,
            });
        }
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let user = userinfo
            .map(|u| u.split_once(':').map_or(u, |(user, _password)| user))
            .map(|u| u.split_once(';').map_or(u, |(number, _params)| number))
            .map(percent_decode)
            .filter(|u| !u.is_empty());
        let (host, params) = match hostpart.split_once(';') {
            Some((h, p)) => (h, parse_params(p)),
            None => (hostpart, Vec::new()),
        };
        Some(Uri {
            scheme,
            user,
            host: host.to_string(),
            params,
        })
    }

    /// The value of URI parameter `name` (lower-case); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// True for `;user=phone` (RFC 3261 §19.1.1: the user part is a telephone-subscriber).
    pub fn is_user_phone(&self) -> bool {
        self.param("user")
            .flatten()
            .is_some_and(|v| v.eq_ignore_ascii_case("phone"))
    }

    /// True for the anonymous URI of RFC 3323 §4.1.1.3 (`sip:anonymous@anonymous.invalid`):
    /// the user part `anonymous` or the host `anonymous.invalid`.
    pub fn is_anonymous(&self) -> bool {
        self.user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("anonymous"))
            || self.host.eq_ignore_ascii_case("anonymous.invalid")
    }
}

/// Decodes `%XX` escapes (RFC 3261 §25.1 escaped); a malformed escape is kept as text.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = core::str::from_utf8(hex)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(r#""Alice \"A\"" <sip:+4930123@gw;user=phone>;tag=x"#).unwrap();
        assert_eq!(n.display.as_deref(), Some(r#"Alice "A""#));
        assert_eq!(n.uri, "sip:+4930123@gw;user=phone");
        assert_eq!(n.param("tag"), Some(Some("x")));

        let n = NameAddr::parse("Bob <tel:+1555>").unwrap();
        assert_eq!(n.display.as_deref(), Some("Bob"));
        let n = NameAddr::parse("sip:alice@example.com;tag=1").unwrap();
        assert_eq!((n.display, n.uri.as_str()), (None, "sip:alice@example.com"));
        assert_eq!(NameAddr::parse(r#""x" sip:a@b"#), None);
        assert_eq!(NameAddr::parse("<>"), None);
    }

    #[test]
    fn uri_parts() {
        let u = Uri::parse("sip:%2B4930123;isub=1:pw@gw.example:5060;user=phone?x=y").unwrap();
        assert_eq!(u.scheme, UriScheme::Sip);
        assert_eq!(u.user.as_deref(), Some("+4930123"));
        assert_eq!(u.host, "gw.example:5060");
        assert!(u.is_user_phone());
        let t = Uri::parse("TEL:+49-30-123;phone-context=x").unwrap();
        assert_eq!(
            (t.scheme, t.user.as_deref()),
            (UriScheme::Tel, Some("+49-30-123"))
        );
        assert!(
            Uri::parse("sip:anonymous@anonymous.invalid")
                .unwrap()
                .is_anonymous()
        );
        assert_eq!(Uri::parse("urn:x").unwrap().scheme, UriScheme::Other);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
