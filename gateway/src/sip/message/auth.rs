//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1; RFC 7616 for
//! digest parameters): WWW-Authenticate, Proxy-Authenticate, Authorization,
//! Proxy-Authorization.
//!
//! ```text
//! challenge   = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
//! credentials = ("Digest" LWS digest-response) / other-response
//! auth-param  = auth-param-name EQUAL ( token / quoted-string )
//! ```
//! One header line carries one challenge or credentials; its commas separate parameters.

use core::fmt;
use std::borrow::Cow;

use super::error::{ParseError, bad_value};
use super::headers::Headers;
use super::syntax::{is_token, split_outside, take_quoted, unquote};

/// A challenge or a credentials value: the scheme and its auth-params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthValue {
    /// Scheme as written (`Digest`; compare case-insensitively).
    pub scheme: String,
    /// `(name, raw value)` pairs in order; a quoted value keeps its quotes.
    pub params: Vec<(String, String)>,
}

impl AuthValue {
    /// Parses `scheme LWS auth-param *(COMMA auth-param)`. A scheme with no parameters
    /// is accepted.
    pub fn parse(s: &str) -> Result<AuthValue, &'static str> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once([' ', '\t']) {
            Some((a, b)) => (a, b.trim_start()),
            None => (s, ""),
        };
        if !is_token(scheme) {
            return Err("scheme is not a token");
        }
        let mut params = Vec::new();
        if !rest.is_empty() {
            for p in split_outside(rest, b',') {
                let p = p.trim();
                if p.is_empty() {
                    continue;
                }
                let (name, value) = p.split_once('=').ok_or("auth-param without =")?;
                let (name, value) = (name.trim(), value.trim());
                if !is_token(name) {
                    return Err("auth-param name is not a token");
                }
                if value.starts_with('"') {
                    match take_quoted(value) {
                        Some((_, tail)) if tail.trim().is_empty() => {}
                        _ => return Err("unterminated quoted auth-param"),
                    }
                } else if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err("bad auth-param value");
                }
                params.push((name.to_string(), value.to_string()));
            }
        }
        Ok(AuthValue {
            scheme: scheme.to_string(),
            params,
        })
    }

    /// True for the Digest scheme.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The value of parameter `name` (case-insensitive), unquoted.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unquote(v))
    }

    /// `realm`.
    pub fn realm(&self) -> Option<Cow<'_, str>> {
        self.param("realm")
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<Cow<'_, str>> {
        self.param("nonce")
    }

    /// `algorithm` (MD5 when absent, RFC 3261 §22.4).
    pub fn algorithm(&self) -> Option<Cow<'_, str>> {
        self.param("algorithm")
    }

    /// `qop` (in a challenge a comma list inside quotes).
    pub fn qop(&self) -> Option<Cow<'_, str>> {
        self.param("qop")
    }

    /// `opaque`.
    pub fn opaque(&self) -> Option<Cow<'_, str>> {
        self.param("opaque")
    }

    /// `stale=true` (RFC 3261 §20.44, case-insensitive).
    pub fn stale(&self) -> bool {
        self.param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }

    /// `username` of credentials.
    pub fn username(&self) -> Option<Cow<'_, str>> {
        self.param("username")
    }

    /// `uri` (digest-uri) of credentials.
    pub fn uri(&self) -> Option<Cow<'_, str>> {
        self.param("uri")
    }

    /// `response` of credentials.
    pub fn response(&self) -> Option<Cow<'_, str>> {
        self.param("response")
    }

    /// `nc` of credentials.
    pub fn nc(&self) -> Option<Cow<'_, str>> {
        self.param("nc")
    }

    /// `cnonce` of credentials.
    pub fn cnonce(&self) -> Option<Cow<'_, str>> {
        self.param("cnonce")
    }
}

impl fmt::Display for AuthValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        for (i, (n, v)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

fn auth_values(h: &Headers, name: &'static str) -> Result<Vec<AuthValue>, ParseError> {
    h.get_all(name)
        .map(|v| AuthValue::parse(v).map_err(|e| bad_value(name, e)))
        .collect()
}

impl Headers {
    /// WWW-Authenticate challenges, one per header line (RFC 3261 §20.44).
    pub fn www_authenticate(&self) -> Result<Vec<AuthValue>, ParseError> {
        auth_values(self, "WWW-Authenticate")
    }

    /// Proxy-Authenticate challenges (RFC 3261 §20.27).
    pub fn proxy_authenticate(&self) -> Result<Vec<AuthValue>, ParseError> {
        auth_values(self, "Proxy-Authenticate")
    }

    /// Authorization credentials (RFC 3261 §20.7).
    pub fn authorization(&self) -> Result<Vec<AuthValue>, ParseError> {
        auth_values(self, "Authorization")
    }

    /// Proxy-Authorization credentials (RFC 3261 §20.28).
    pub fn proxy_authorization(&self) -> Result<Vec<AuthValue>, ParseError> {
        auth_values(self, "Proxy-Authorization")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_challenge_and_credentials() {
        let c = AuthValue::parse(
            r#"Digest realm="atlanta.com", domain="sip:ss1.carrier.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5"#,
        )
        .unwrap();
        assert!(c.is_digest());
        assert_eq!(c.realm().as_deref(), Some("atlanta.com"));
        assert_eq!(c.qop().as_deref(), Some("auth,auth-int"));
        assert_eq!(c.opaque().as_deref(), Some(""));
        assert!(!c.stale());
        assert_eq!(c.algorithm().as_deref(), Some("MD5"));
        assert_eq!(AuthValue::parse(&c.to_string()).unwrap(), c);
        let r = AuthValue::parse(
            r#"Digest username="bob", realm="b.com", nonce="n", uri="sip:b.com", response="42ce3cef44b22f50c6a6071bc8", nc=00000001, cnonce="0a4f113b", qop=auth"#,
        )
        .unwrap();
        assert_eq!(r.username().as_deref(), Some("bob"));
        assert_eq!(
            (r.uri().as_deref(), r.nc().as_deref()),
            (Some("sip:b.com"), Some("00000001"))
        );
        assert!(r.response().is_some() && r.cnonce().is_some());
        let o = AuthValue::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert!(!o.is_digest());
        for bad in ["Digest realm=\"x", "Digest realm", "Dig est", "\"x\" a=b"] {
            assert!(AuthValue::parse(bad).is_err(), "{bad}");
        }
        let mut h = Headers::new();
        h.push("WWW-Authenticate", "Digest realm=\"a\", nonce=\"1\"");
        h.push("WWW-Authenticate", "Digest realm=\"b\", nonce=\"2\"");
        assert_eq!(h.www_authenticate().unwrap().len(), 2);
        assert!(h.proxy_authenticate().unwrap().is_empty());
        assert!(
            h.authorization().unwrap().is_empty() && h.proxy_authorization().unwrap().is_empty()
        );
    }
}
