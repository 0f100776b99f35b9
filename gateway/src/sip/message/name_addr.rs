//! `name-addr` / `addr-spec` values: From, To, Contact, Route, Record-Route, Reply-To,
//! P-Asserted-Identity, Diversion, History-Info (RFC 3261 §20.10, §20.20, §20.39, §25.1;
//! RFC 3325; RFC 5806; RFC 7044).

use core::fmt;
use std::borrow::Cow;

use super::error::{ParseError, bad_value};
use super::headers::Headers;
use super::syntax::{Params, is_token_char, quote, split_outside, take_quoted, unquote};
use super::uri::Uri;

/// A name-addr or addr-spec with its header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name as written: a quoted-string with its quotes, or bare tokens.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters after the URI (`tag`, `expires`, `q`, `index`, ...).
    pub params: Params,
}

impl NameAddr {
    /// A value for `uri` with no display name or parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// Sets the display name (quoted on output).
    pub fn with_display(mut self, name: &str) -> NameAddr {
        self.display = Some(quote(name));
        self
    }

    /// Parses one value. Strict where RFC 4475 §3.1.2 wants a rejection: an unterminated
    /// quote, white space inside `<...>`, a non-token bare display name, or a bare
    /// addr-spec holding `?` or `,` (RFC 3261 §20.10 requires `<...>` then).
    pub fn parse(s: &str) -> Result<NameAddr, &'static str> {
        let s = s.trim();
        let (display, rest) = if s.starts_with('"') {
            let (d, rest) = take_quoted(s).ok_or("unterminated quoted display name")?;
            let rest = rest.trim_start();
            if !rest.starts_with('<') {
                return Err("display name without <URI>");
            }
            (Some(d), rest)
        } else if let Some(lt) = s.find('<') {
            // `lt` and `gt` below index ASCII bytes, so every slice is on a char boundary.
            let d = s[..lt].trim();
            if !d
                .split_whitespace()
                .all(|w| w.chars().all(|c| is_token_char(c) || !c.is_ascii()))
            {
                return Err("display name must be tokens or quoted");
            }
            ((!d.is_empty()).then_some(d), &s[lt..])
        } else {
            (None, s)
        };
        let (uri, params) = if let Some(inner) = rest.strip_prefix('<') {
            let gt = inner.find('>').ok_or("no closing >")?;
            let uri = &inner[..gt];
            let after = inner[gt + 1..].trim_start();
            let params = if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(';').ok_or("junk after >")?)
            };
            (uri, params)
        } else {
            let (u, p) = match rest.split_once(';') {
                Some((u, p)) => (u.trim_end(), Some(p)),
                None => (rest, None),
            };
            if u.contains(['?', ',']) {
                return Err("URI with ? or , must be in <>");
            }
            (u, p)
        };
        Ok(NameAddr {
            display: display.map(str::to_string),
            uri: Uri::parse(uri)?,
            params: Params::parse_opt(params)?,
        })
    }

    /// The display name unquoted.
    pub fn display_name(&self) -> Option<Cow<'_, str>> {
        self.display.as_deref().map(unquote)
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// Contact `expires` parameter in seconds (RFC 3261 §20.10), saturating at 2^32-1.
    pub fn expires(&self) -> Option<u32> {
        let v = self.params.get("expires").flatten()?;
        super::syntax::parse_number_saturating(v, u64::from(u32::MAX))
            .ok()
            .map(|v| v as u32)
    }

    /// Contact `q` parameter (RFC 3261 §20.10), in thousandths (`q=0.7` gives 700).
    pub fn q(&self) -> Option<u16> {
        let v = self.params.get("q").flatten()?;
        let (int, frac) = v.split_once('.').unwrap_or((v, ""));
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int: u16 = match int {
            "0" => 0,
            "1" => 1,
            _ => return None,
        };
        let mut f = 0u16;
        for i in 0..3 {
            f = f * 10 + frac.as_bytes().get(i).map_or(0, |b| u16::from(b - b'0'));
        }
        let q = int * 1000 + f;
        (q <= 1000).then_some(q)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{d} <{}>", self.uri)?;
        } else if self.uri.needs_angle_brackets() || !self.params.is_empty() {
            write!(f, "<{}>", self.uri)?;
        } else {
            write!(f, "{}", self.uri)?;
        }
        write!(f, "{}", self.params)
    }
}

/// One Contact value (RFC 3261 §20.10): `*` or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// `Contact: *` (REGISTER removing every binding).
    Star,
    /// An address.
    Addr(NameAddr),
}

fn single(h: &Headers, name: &'static str) -> Result<Option<NameAddr>, ParseError> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => NameAddr::parse(v).map(Some).map_err(|e| bad_value(name, e)),
    }
}

fn list(h: &Headers, name: &'static str) -> Result<Vec<NameAddr>, ParseError> {
    h.values(name)
        .map(|v| {
            if v.is_empty() {
                Err(bad_value(name, "empty list element"))
            } else {
                NameAddr::parse(v).map_err(|e| bad_value(name, e))
            }
        })
        .collect()
}

impl Headers {
    /// From (RFC 3261 §20.20).
    pub fn from(&self) -> Result<Option<NameAddr>, ParseError> {
        single(self, "From")
    }

    /// To (RFC 3261 §20.39).
    pub fn to(&self) -> Result<Option<NameAddr>, ParseError> {
        single(self, "To")
    }

    /// Reply-To (RFC 3261 §20.31).
    pub fn reply_to(&self) -> Result<Option<NameAddr>, ParseError> {
        single(self, "Reply-To")
    }

    /// Every Contact value in order (RFC 3261 §20.10), `*` included.
    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        self.values("Contact")
            .map(|v| match v {
                "*" => Ok(Contact::Star),
                "" => Err(bad_value("Contact", "empty list element")),
                v => NameAddr::parse(v)
                    .map(Contact::Addr)
                    .map_err(|e| bad_value("Contact", e)),
            })
            .collect()
    }

    /// Route values, top first (RFC 3261 §20.34).
    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        list(self, "Route")
    }

    /// Record-Route values, top first (RFC 3261 §20.30).
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        list(self, "Record-Route")
    }

    /// P-Asserted-Identity values (RFC 3325 §9.1).
    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr>, ParseError> {
        list(self, "P-Asserted-Identity")
    }

    /// P-Preferred-Identity values (RFC 3325 §9.2).
    pub fn p_preferred_identity(&self) -> Result<Vec<NameAddr>, ParseError> {
        list(self, "P-Preferred-Identity")
    }

    /// Diversion values, most recent first (RFC 5806 §3: `reason`, `counter`, `privacy`
    /// ... are header parameters).
    pub fn diversion(&self) -> Result<Vec<NameAddr>, ParseError> {
        list(self, "Diversion")
    }

    /// History-Info entries (RFC 7044 §4: `index`, `rc`, `mp`, `np` header parameters).
    pub fn history_info(&self) -> Result<Vec<NameAddr>, ParseError> {
        list(self, "History-Info")
    }

    /// Sets the tag of the To header (RFC 3261 §8.2.6.2); false when there is no valid To.
    pub fn set_to_tag(&mut self, tag: &str) -> bool {
        let Ok(Some(mut to)) = self.to() else {
            return false;
        };
        to.set_tag(tag);
        self.replace("To", &to.to_string());
        true
    }
}

/// Splits a list header value the way [`Headers::values`] does (exported for callers that
/// hold a raw value).
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    split_outside(value, b',').map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let n =
            NameAddr::parse(r#""Alice \"A\" Ünïcode" <sip:+4930@gw;user=phone>;tag=x"#).unwrap();
        assert_eq!(n.display_name().as_deref(), Some(r#"Alice "A" Ünïcode"#));
        assert_eq!(n.tag(), Some("x"));
        assert!(n.uri.as_sip().unwrap().is_user_phone());
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display.as_deref(), Some("caller"));
        let n =
            NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(n.tag(), Some("1918181833n"));
        assert_eq!(
            n.to_string(),
            "<sip:vivekg@chair-dnrc.example.com>;tag=1918181833n"
        );
        let n = NameAddr::parse("tel:+1555;tag=a").unwrap();
        assert!(n.params.contains("tag") && n.uri.as_tel().is_some());
        assert_eq!(
            NameAddr::parse("<http://x.example>").unwrap().uri.scheme(),
            "http"
        );
        let n = NameAddr::parse("<sip:a@b>;expires=280297596632815;q=0.7").unwrap();
        assert_eq!((n.expires(), n.q()), (Some(u32::MAX), Some(700)));
    }

    #[test]
    fn rejections() {
        for bad in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            r#""Joe" <sip:joe@example.org>;;;;"#,
            r#""x" sip:a@b"#,
            "<sip:a@b",
            "<sip:a@b> junk",
            "",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_views() {
        let mut h = Headers::new();
        h.push("t", "<sip:b@x>");
        h.push("m", "*");
        h.push("Contact", "<sip:a@h>;expires=60, \"B, b\" <sip:b@h>");
        h.push("Route", "<sip:p1;lr>,<sip:p2;lr>");
        assert!(h.set_to_tag("abc"));
        assert_eq!(h.to().unwrap().unwrap().tag(), Some("abc"));
        assert_eq!(h.get("to"), Some("<sip:b@x>;tag=abc"));
        let c = h.contacts().unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], Contact::Star);
        assert_eq!(h.routes().unwrap().len(), 2);
        assert!(h.from().unwrap().is_none());
        h.push("Record-Route", "<sip:a>,");
        assert!(h.record_routes().is_err());
        assert_eq!(split_list("a, \"b,c\"").count(), 2);
    }

    #[test]
    fn identity_and_redirection_headers() {
        let mut h = Headers::new();
        h.push(
            "P-Asserted-Identity",
            "\"Cullen Jennings\" <sip:fluffy@cisco.com>, <tel:+14085264000>",
        );
        h.push("P-Preferred-Identity", "<sip:alice@a.example>");
        h.push(
            "Diversion",
            "<sip:+4930111@gw;user=phone>;reason=unconditional;counter=1;privacy=off",
        );
        h.push("Diversion", "<tel:+4930222>;reason=user-busy");
        h.push(
            "History-Info",
            "<sip:bob@biloxi.example.com>;index=1, <sip:bob@192.0.2.4?Reason=SIP%3Bcause%3D302>;index=1.1;rc=1",
        );
        h.push("Reply-To", "Bob <sip:bob@biloxi.example.com>");
        let pai = h.p_asserted_identity().unwrap();
        assert_eq!(pai[0].display_name().as_deref(), Some("Cullen Jennings"));
        assert!(pai[1].uri.as_tel().unwrap().is_global());
        assert_eq!(h.p_preferred_identity().unwrap().len(), 1);
        let d = h.diversion().unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].params.get("reason"), Some(Some("unconditional")));
        assert_eq!(d[1].params.get("reason"), Some(Some("user-busy")));
        let hi = h.history_info().unwrap();
        assert_eq!(hi[1].params.get("index"), Some(Some("1.1")));
        assert!(hi[1].uri.as_sip().unwrap().headers.is_some());
        assert_eq!(
            h.reply_to().unwrap().unwrap().display.as_deref(),
            Some("Bob")
        );
    }
}
