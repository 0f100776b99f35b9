//! URIs (RFC 3261 §19.1, §25.1; RFC 3966 `tel:`; RFC 3986 for any other scheme).
//!
//! Parts are kept as written (percent-escapes included, RFC 3261 §19.1.4), so a URI
//! prints back byte for byte apart from the scheme, which prints in lower case.

use core::fmt;
use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::syntax::Params;

/// A URI as found in a Request-URI or a name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:` (RFC 3966).
    Tel(TelUri),
    /// Any other absolute URI (`http:`, `urn:`, `isbn:` ...), kept as opaque text.
    Other(String),
}

/// A `sip:`/`sips:` URI (RFC 3261 §19.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// True for `sips:`.
    pub secure: bool,
    /// User part, raw (escapes kept); `None` when there is no `@`.
    pub user: Option<String>,
    /// Password, raw (RFC 3261 §19.1.1 deprecates it, peers still send it).
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Port, when written.
    pub port: Option<u16>,
    /// uri-parameters (`transport`, `user`, `lr`, `maddr`, ...).
    pub params: Params,
    /// Headers after `?`, raw (e.g. `Route=%3Csip:x%3E`).
    pub headers: Option<String>,
}

/// A `tel:` URI (RFC 3966 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    /// The telephone-subscriber number as written: `+` first for a global number, else a
    /// local number (which needs `phone-context`).
    pub number: String,
    /// Parameters (`phone-context`, `isub`, `ext`, ...).
    pub params: Params,
}

/// A host (RFC 3261 §25.1 `host`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name, as written.
    Name(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference: the text between the brackets, as written. Kept as text so the
    /// `:::` form of the RFC 3261 ABNF bug (RFC 5118 §4.10) passes through.
    Ipv6(String),
}

impl Host {
    /// Parses a host: `[v6]`, dotted IPv4, or a host name (letters, digits, `-`, `.`,
    /// and `_`, which real DNS names carry).
    pub fn parse(s: &str) -> Result<Host, &'static str> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or("unterminated IPv6 reference")?;
            let ok = inner.contains(':')
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            return if ok {
                Ok(Host::Ipv6(inner.to_string()))
            } else {
                Err("bad IPv6 reference")
            };
        }
        if s.is_empty() {
            return Err("empty host");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err("bad character in host");
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && let Ok(a) = s.parse::<Ipv4Addr>()
        {
            return Ok(Host::Ipv4(a));
        }
        Ok(Host::Name(s.to_string()))
    }

    /// Parses `host[:port]`.
    pub fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), &'static str> {
        let (host, port) = if s.starts_with('[') {
            match s.find(']') {
                Some(end) => {
                    let (h, rest) = s.split_at(end + 1);
                    match rest {
                        "" => (h, None),
                        _ => (
                            h,
                            Some(rest.strip_prefix(':').ok_or("junk after IPv6 reference")?),
                        ),
                    }
                }
                None => return Err("unterminated IPv6 reference"),
            }
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        let port = match port {
            None => None,
            Some(p) => {
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("bad port");
                }
                Some(p.parse::<u16>().map_err(|_| "port above 65535")?)
            }
        };
        Ok((Host::parse(host)?, port))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(t) => write!(f, "[{t}]"),
        }
    }
}

/// True for a URI `scheme` (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// Characters no URI part may hold: white space, controls, and the delimiters of the
/// surrounding header syntax.
fn has_forbidden(s: &str) -> bool {
    s.bytes()
        .any(|b| b <= b' ' || b == 0x7f || matches!(b, b'<' | b'>' | b'"'))
}

impl Uri {
    /// Parses an absolute URI. `sip`, `sips` and `tel` are parsed into parts (scheme
    /// case-insensitive); other schemes are kept whole.
    pub fn parse(s: &str) -> Result<Uri, &'static str> {
        let (scheme, rest) = s.split_once(':').ok_or("no URI scheme")?;
        if !is_scheme(scheme) {
            return Err("bad URI scheme");
        }
        if rest.is_empty() {
            return Err("empty URI");
        }
        if has_forbidden(rest) {
            return Err("white space or delimiter inside URI");
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(rest, false).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(rest, true).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_after_scheme(rest).map(Uri::Tel)
        } else {
            Ok(Uri::Other(s.to_string()))
        }
    }

    /// The SIP URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The tel URI, if it is one.
    pub fn as_tel(&self) -> Option<&TelUri> {
        match self {
            Uri::Tel(u) => Some(u),
            _ => None,
        }
    }

    /// The scheme, lower-case for sip/sips/tel and as written otherwise.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) if u.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Tel(_) => "tel",
            Uri::Other(s) => s.split_once(':').map_or("", |(s, _)| s),
        }
    }

    /// True when the URI, printed bare in a header, would need `<...>` (RFC 3261 §20.10:
    /// a URI with `,`, `;` or `?` must be enclosed).
    pub fn needs_angle_brackets(&self) -> bool {
        match self {
            Uri::Sip(u) => {
                !u.params.is_empty()
                    || u.headers.is_some()
                    || u.user
                        .as_deref()
                        .is_some_and(|x| x.contains([',', ';', '?']))
                    || u.password
                        .as_deref()
                        .is_some_and(|x| x.contains([',', ';', '?']))
            }
            Uri::Tel(t) => !t.params.is_empty() || t.number.contains([',', ';', '?']),
            Uri::Other(s) => s.contains([',', ';', '?']),
        }
    }
}

impl SipUri {
    /// A `sip:` URI with a user (raw) and a host.
    pub fn new(user: Option<&str>, host: Host) -> SipUri {
        SipUri {
            secure: false,
            user: user.map(str::to_string),
            password: None,
            host,
            port: None,
            params: Params::default(),
            headers: None,
        }
    }

    fn parse_after_scheme(rest: &str, secure: bool) -> Result<SipUri, &'static str> {
        // The user part may hold `;`, `?`, `/` and `,` unescaped (RFC 3261 §25.1
        // user-unreserved) but never `@`, so the first `@` ends the userinfo.
        let (userinfo, rest) = match rest.split_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pw) = match u.split_once(':') {
                    Some((user, pw)) => (user, Some(pw.to_string())),
                    None => (u, None),
                };
                if user.is_empty() {
                    return Err("empty user part");
                }
                (Some(user.to_string()), pw)
            }
        };
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) => {
                if h.is_empty() {
                    return Err("empty URI headers");
                }
                (r, Some(h.to_string()))
            }
            None => (rest, None),
        };
        let (hostport, params) = match rest.split_once(';') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let (host, port) = Host::parse_hostport(hostport)?;
        let params = Params::parse_opt(params)?;
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// The user part with percent-escapes decoded (RFC 3261 §19.1.2); bytes that are not
    /// UTF-8 (an escaped NUL is legal, RFC 4475 §3.1.1.4) are replaced.
    pub fn user_unescaped(&self) -> Option<Cow<'_, str>> {
        self.user.as_deref().map(percent_decode)
    }

    /// True for `;user=phone` (RFC 3261 §19.1.1: the user part is a telephone number).
    pub fn is_user_phone(&self) -> bool {
        self.params
            .get("user")
            .flatten()
            .is_some_and(|v| v.eq_ignore_ascii_case("phone"))
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.params.get("transport").flatten()
    }

    /// True for the `lr` flag (RFC 3261 §19.1.1, loose routing).
    pub fn lr(&self) -> bool {
        self.params.contains("lr")
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr").flatten()
    }
}

impl TelUri {
    fn parse_after_scheme(rest: &str) -> Result<TelUri, &'static str> {
        let (number, params) = match rest.split_once(';') {
            Some((n, p)) => (n, Some(p)),
            None => (rest, None),
        };
        if number.is_empty() || number == "+" {
            return Err("empty telephone number");
        }
        Ok(TelUri {
            number: number.to_string(),
            params: Params::parse_opt(params)?,
        })
    }

    /// True for a global number (`+` and a country code, RFC 3966 §5.1.4).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// The `phone-context` of a local number (RFC 3966 §5.1.5).
    pub fn phone_context(&self) -> Option<&str> {
        self.params.get("phone-context").flatten()
    }

    /// The number's digits only (visual separators `-.()` dropped, `+` kept).
    pub fn digits(&self) -> String {
        self.number
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }
}

/// Decodes `%XX` escapes (RFC 3261 §25.1 `escaped`); a malformed escape stays as text.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            // Two hex digits make at most 255.
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}{}", self.number, self.params)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(t) => t.fmt(f),
            Uri::Other(s) => f.write_str(s),
        }
    }
}

impl core::str::FromStr for Uri {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Uri, &'static str> {
        Uri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sip_uri_parts() {
        let u = sip("sip:%2B4930:pw@gw.example.com:5061;user=phone;transport=tcp;lr?X=y");
        assert_eq!(u.user.as_deref(), Some("%2B4930"));
        assert_eq!(u.user_unescaped().as_deref(), Some("+4930"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, Host::Name("gw.example.com".into()));
        assert_eq!(u.port, Some(5061));
        assert!(u.is_user_phone() && u.lr());
        assert_eq!(u.transport(), Some("tcp"));
        assert_eq!(u.headers.as_deref(), Some("X=y"));
        assert_eq!(
            u.to_string(),
            "sip:%2B4930:pw@gw.example.com:5061;user=phone;transport=tcp;lr?X=y"
        );
        let u = sip("SIPS:10.0.0.1;maddr=239.1.1.1");
        assert!(u.secure);
        assert_eq!(u.host, Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(u.maddr(), Some("239.1.1.1"));
    }

    #[test]
    fn ipv6_references() {
        let u = sip("sip:user@[2001:db8::10]:5070");
        assert_eq!(u.host, Host::Ipv6("2001:db8::10".into()));
        assert_eq!(u.port, Some(5070));
        assert_eq!(sip("sip:[2001:db8::10:5070]").port, None);
        assert!(Uri::parse("sip:2001:db8::10").is_err());
        assert!(Uri::parse("sip:[2001:db8::10").is_err());
        assert!(Uri::parse("sip:[::1]x").is_err());
        assert_eq!(
            sip("sip:user@[2001:db8:::192.0.2.1]").host,
            Host::Ipv6("2001:db8:::192.0.2.1".into())
        );
    }

    #[test]
    fn unusual_user_parts() {
        let u = sip(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert!(u.password.is_some() && u.params.is_empty() && u.headers.is_none());
        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user_unescaped().as_deref(), Some("null-\0-null"));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn tel_and_other_schemes() {
        let Uri::Tel(t) = Uri::parse("tel:+1-201-555-0123;ext=1").unwrap() else {
            panic!()
        };
        assert!(t.is_global());
        assert_eq!(t.digits(), "+12015550123");
        let Uri::Tel(t) = Uri::parse("TEL:7042;phone-context=example.com").unwrap() else {
            panic!()
        };
        assert_eq!(t.phone_context(), Some("example.com"));
        assert_eq!(t.to_string(), "tel:7042;phone-context=example.com");
        assert_eq!(
            Uri::parse("tel:+4930123456789012345678901234")
                .unwrap()
                .scheme(),
            "tel"
        );
        assert_eq!(
            Uri::parse("soap.beep://192.0.2.103:3002").unwrap(),
            Uri::Other("soap.beep://192.0.2.103:3002".into())
        );
        for bad in [
            "<sip:a@b>",
            "sip:",
            "sip:a b",
            "1x:y",
            "nocolon",
            "sip:@h",
            "sip:h:99999",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
