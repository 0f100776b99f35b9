//! Typed views of the scalar and token-list headers (RFC 3261 §20 and extensions). Each
//! reads the raw value on demand; `Ok(None)` means the header is absent.

use core::fmt;

use mapping::sip::privacy::Privacy;
use mapping::sip::reason::{ReasonValue, parse_reason};
use mapping::sip::rpid::RemotePartyId;

use super::Method;
use super::error::{ParseError, bad_value};
use super::headers::Headers;
use super::syntax::{Params, is_token, parse_number, parse_number_saturating, unquote};

/// Largest CSeq number (RFC 3261 §8.1.1.5: less than 2^31).
pub const CSEQ_MAX: u64 = (1 << 31) - 1;

/// CSeq (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`.
    pub fn parse(s: &str) -> Result<CSeq, &'static str> {
        let s = s.trim();
        let (n, m) = s.split_once([' ', '\t']).ok_or("no method")?;
        let m = m.trim();
        if !is_token(m) {
            return Err("method is not a token");
        }
        let seq = parse_number(n, CSEQ_MAX).map_err(|e| match e {
            "number too large" => "number above 2^31-1",
            e => e,
        })?;
        Ok(CSeq {
            seq: seq as u32,
            method: Method::parse(m),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// RAck (RFC 3262 §7.2): the RSeq and CSeq of the reliable provisional being acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    /// response-num.
    pub rseq: u32,
    /// CSeq number.
    pub cseq: u32,
    /// CSeq method.
    pub method: Method,
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

/// Content-Type (RFC 3261 §20.15): `type/subtype;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// Type, as written (`application`).
    pub mtype: String,
    /// Subtype, as written (`sdp`).
    pub subtype: String,
    /// Parameters (`boundary`, `charset`, `version`, ...).
    pub params: Params,
}

impl MediaType {
    /// Parses `m-type SLASH m-subtype *(SEMI m-parameter)`.
    pub fn parse(s: &str) -> Result<MediaType, &'static str> {
        let (head, params) = match s.split_once(';') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let (t, st) = head.split_once('/').ok_or("no /")?;
        let (t, st) = (t.trim(), st.trim());
        if !is_token(t) || !is_token(st) {
            return Err("type or subtype is not a token");
        }
        Ok(MediaType {
            mtype: t.to_string(),
            subtype: st.to_string(),
            params: Params::parse_opt(params)?,
        })
    }

    /// True for `type/subtype`, case-insensitively.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The multipart `boundary` parameter, unquoted.
    pub fn boundary(&self) -> Option<String> {
        self.params.value("boundary").map(|b| b.into_owned())
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype, self.subtype, self.params)
    }
}

/// Retry-After (RFC 3261 §20.33): `delta-seconds [comment] *(SEMI retry-param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter {
    /// Seconds.
    pub seconds: u32,
    /// The comment inside `(...)`, without the parentheses.
    pub comment: Option<String>,
    /// Parameters (`duration`).
    pub params: Params,
}

/// Session-Expires (RFC 4028 §4): `delta-seconds *(SEMI se-params)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    /// Interval in seconds.
    pub delta: u32,
    /// `refresher=uac|uas` as written.
    pub refresher: Option<String>,
    /// Every parameter.
    pub params: Params,
}

/// A `delta-seconds *(SEMI generic-param)` value.
fn delta_with_params(name: &str, s: &str) -> Result<(u32, Params), ParseError> {
    let (n, p) = match s.split_once(';') {
        Some((n, p)) => (n, Some(p)),
        None => (s, None),
    };
    let n = parse_number(n, u64::from(u32::MAX)).map_err(|e| bad_value(name, e))? as u32;
    let p = Params::parse_opt(p).map_err(|e| bad_value(name, e))?;
    Ok((n, p))
}

/// A header that must be a single number up to `max`.
fn number(h: &Headers, name: &'static str, max: u64) -> Result<Option<u64>, ParseError> {
    h.get(name)
        .map(|v| parse_number(v, max).map_err(|e| bad_value(name, e)))
        .transpose()
}

/// An option-tag or method list value (Supported, Require, Allow ...): tokens, empty
/// elements skipped.
fn tokens<'a>(h: &'a Headers, name: &'a str) -> Vec<&'a str> {
    h.values(name).filter(|t| !t.is_empty()).collect()
}

impl Headers {
    /// Call-ID (RFC 3261 §20.8).
    pub fn call_id(&self) -> Option<&str> {
        self.get("Call-ID")
    }

    /// CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> Result<Option<CSeq>, ParseError> {
        self.get("CSeq")
            .map(|v| CSeq::parse(v).map_err(|e| bad_value("CSeq", e)))
            .transpose()
    }

    /// Max-Forwards, 0-255 (RFC 3261 §20.22; RFC 4475 §3.1.2.4 treats 300 as invalid).
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        number(self, "Max-Forwards", 255).map(|v| v.map(|v| v as u8))
    }

    /// Content-Length (RFC 3261 §20.14).
    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        number(self, "Content-Length", u64::from(u32::MAX)).map(|v| v.map(|v| v as usize))
    }

    /// Content-Type (RFC 3261 §20.15).
    pub fn content_type(&self) -> Result<Option<MediaType>, ParseError> {
        self.get("Content-Type")
            .map(|v| MediaType::parse(v).map_err(|e| bad_value("Content-Type", e)))
            .transpose()
    }

    /// Expires in seconds (RFC 3261 §20.19); a value above 2^32-1 saturates.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.get("Expires")
            .map(|v| {
                parse_number_saturating(v, u64::from(u32::MAX))
                    .map(|v| v as u32)
                    .map_err(|e| bad_value("Expires", e))
            })
            .transpose()
    }

    /// Min-Expires (RFC 3261 §20.23).
    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        number(self, "Min-Expires", u64::from(u32::MAX)).map(|v| v.map(|v| v as u32))
    }

    /// Retry-After (RFC 3261 §20.33).
    pub fn retry_after(&self) -> Result<Option<RetryAfter>, ParseError> {
        let Some(v) = self.get("Retry-After") else {
            return Ok(None);
        };
        let (head, params) = match v.split_once(';') {
            Some((h, p)) => (h, Some(p)),
            None => (v, None),
        };
        let (num, comment) = match head.split_once('(') {
            Some((n, c)) => {
                let c = c
                    .trim_end()
                    .strip_suffix(')')
                    .ok_or_else(|| bad_value("Retry-After", "unterminated comment"))?;
                (n, Some(c.to_string()))
            }
            None => (head, None),
        };
        let seconds =
            parse_number(num, u64::from(u32::MAX)).map_err(|e| bad_value("Retry-After", e))? as u32;
        let params = Params::parse_opt(params).map_err(|e| bad_value("Retry-After", e))?;
        Ok(Some(RetryAfter {
            seconds,
            comment,
            params,
        }))
    }

    /// Session-Expires (RFC 4028 §4).
    pub fn session_expires(&self) -> Result<Option<SessionExpires>, ParseError> {
        let Some(v) = self.get("Session-Expires") else {
            return Ok(None);
        };
        let (delta, params) = delta_with_params("Session-Expires", v)?;
        let refresher = params.value("refresher").map(|r| r.into_owned());
        Ok(Some(SessionExpires {
            delta,
            refresher,
            params,
        }))
    }

    /// Min-SE in seconds (RFC 4028 §5).
    pub fn min_se(&self) -> Result<Option<u32>, ParseError> {
        self.get("Min-SE")
            .map(|v| delta_with_params("Min-SE", v).map(|(d, _)| d))
            .transpose()
    }

    /// RSeq (RFC 3262 §7.1), 1 to 2^31-1.
    pub fn rseq(&self) -> Result<Option<u32>, ParseError> {
        number(self, "RSeq", CSEQ_MAX).map(|v| v.map(|v| v as u32))
    }

    /// RAck (RFC 3262 §7.2).
    pub fn rack(&self) -> Result<Option<RAck>, ParseError> {
        let Some(v) = self.get("RAck") else {
            return Ok(None);
        };
        let mut it = v.split_whitespace();
        let (Some(r), Some(c), Some(m), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad_value("RAck", "want response-num CSeq-num method"));
        };
        let rseq = parse_number(r, CSEQ_MAX).map_err(|e| bad_value("RAck", e))? as u32;
        let cseq = parse_number(c, CSEQ_MAX).map_err(|e| bad_value("RAck", e))? as u32;
        if !is_token(m) {
            return Err(bad_value("RAck", "method is not a token"));
        }
        Ok(Some(RAck {
            rseq,
            cseq,
            method: Method::parse(m),
        }))
    }

    /// Supported option tags (RFC 3261 §20.37).
    pub fn supported(&self) -> Vec<&str> {
        tokens(self, "Supported")
    }

    /// Require option tags (RFC 3261 §20.32).
    pub fn require(&self) -> Vec<&str> {
        tokens(self, "Require")
    }

    /// Proxy-Require option tags (RFC 3261 §20.29).
    pub fn proxy_require(&self) -> Vec<&str> {
        tokens(self, "Proxy-Require")
    }

    /// Unsupported option tags (RFC 3261 §20.40).
    pub fn unsupported(&self) -> Vec<&str> {
        tokens(self, "Unsupported")
    }

    /// Allowed methods (RFC 3261 §20.5).
    pub fn allow(&self) -> Vec<Method> {
        tokens(self, "Allow")
            .into_iter()
            .map(Method::parse)
            .collect()
    }

    /// True when `tag` is among the option tags of `name` (case-insensitive).
    pub fn has_option_tag(&self, name: &str, tag: &str) -> bool {
        tokens(self, name)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// Privacy (RFC 3323 §4.2), through the mapping crate's parser.
    pub fn privacy(&self) -> Option<Privacy> {
        self.get("Privacy").map(Privacy::parse)
    }

    /// Remote-Party-ID values over all lines (draft-ietf-sip-privacy-04), through the
    /// mapping crate's parser.
    pub fn remote_party_id(&self) -> Vec<RemotePartyId> {
        self.get_all("Remote-Party-ID")
            .flat_map(RemotePartyId::parse_list)
            .collect()
    }

    /// Reason values over all lines (RFC 3326), through the mapping crate's parser.
    pub fn reason(&self) -> Vec<ReasonValue> {
        self.get_all("Reason").flat_map(parse_reason).collect()
    }

    /// Warning codes and texts (RFC 3261 §20.43: `warn-code SP warn-agent SP warn-text`).
    pub fn warnings(&self) -> Result<Vec<(u16, String, String)>, ParseError> {
        self.values("Warning")
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut it = w.splitn(3, ' ');
                // splitn yields at least one piece.
                let code = it.next().unwrap_or_default();
                let agent = it
                    .next()
                    .ok_or_else(|| bad_value("Warning", "no warn-agent"))?;
                let text = it
                    .next()
                    .ok_or_else(|| bad_value("Warning", "no warn-text"))?;
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_value("Warning", "warn-code is not 3 digits"));
                }
                // Three ASCII digits parse.
                let code = code.parse().unwrap_or_default();
                Ok((code, agent.to_string(), unquote(text.trim()).into_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in lines {
            h.push(n, v);
        }
        h
    }

    #[test]
    fn cseq_and_rack() {
        let h = hdrs(&[
            ("CSeq", "0009\t INVITE"),
            ("RAck", "776656 1 INVITE"),
            ("RSeq", "776656"),
        ]);
        assert_eq!(
            h.cseq().unwrap().unwrap(),
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        let r = h.rack().unwrap().unwrap();
        assert_eq!(
            (r.rseq, r.cseq, r.to_string().as_str()),
            (776656, 1, "776656 1 INVITE")
        );
        assert_eq!(h.rseq().unwrap(), Some(776656));
        for bad in [
            "36893488147419103232 REGISTER",
            "2147483648 INVITE",
            "1",
            "x INVITE",
            "1 IN VITE",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CSeq::parse("2147483647 FOO").unwrap().method,
            Method::Other("FOO".into())
        );
        assert!(hdrs(&[("RAck", "1 2")]).rack().is_err());
    }

    #[test]
    fn scalars() {
        let h = hdrs(&[
            ("Max-Forwards", "0068"),
            ("l", "12"),
            ("c", "multipart/mixed;boundary=\"b 1\""),
            ("Expires", "100000000000000000000000"),
            ("Min-Expires", "60"),
            ("Retry-After", "18000 (in a meeting);duration=3600"),
            ("x", "1800;refresher=uac"),
            ("Min-SE", "90"),
            ("Call-ID", "a@b"),
        ]);
        assert_eq!(h.max_forwards().unwrap(), Some(68));
        assert_eq!(h.content_length().unwrap(), Some(12));
        let ct = h.content_type().unwrap().unwrap();
        assert!(ct.is("Multipart", "MIXED"));
        assert_eq!(ct.boundary().as_deref(), Some("b 1"));
        assert_eq!(h.expires().unwrap(), Some(u32::MAX));
        assert_eq!(h.min_expires().unwrap(), Some(60));
        let ra = h.retry_after().unwrap().unwrap();
        assert_eq!(
            (ra.seconds, ra.comment.as_deref()),
            (18000, Some("in a meeting"))
        );
        assert_eq!(ra.params.get("duration"), Some(Some("3600")));
        let se = h.session_expires().unwrap().unwrap();
        assert_eq!((se.delta, se.refresher.as_deref()), (1800, Some("uac")));
        assert_eq!(h.min_se().unwrap(), Some(90));
        assert_eq!(h.call_id(), Some("a@b"));
        assert!(hdrs(&[("Max-Forwards", "300")]).max_forwards().is_err());
        assert!(
            hdrs(&[("Retry-After", "949302838503028349304023988")])
                .retry_after()
                .is_err()
        );
        assert!(hdrs(&[("Content-Length", "-1")]).content_length().is_err());
        assert!(hdrs(&[("Content-Type", "sdp")]).content_type().is_err());
    }

    #[test]
    fn lists_and_identity() {
        let h = hdrs(&[
            ("k", "100rel, timer"),
            ("Supported", "replaces,"),
            ("Require", "100rel"),
            ("Proxy-Require", "foo"),
            ("Unsupported", "bar"),
            ("Allow", "INVITE, ACK,BYE, NEWTHING"),
            ("Privacy", "id; critical"),
            (
                "Remote-Party-ID",
                "\"A\" <sip:+1555@gw>;party=calling;privacy=full;screen=yes",
            ),
            ("Reason", "Q.850;cause=16;text=\"Normal\", SIP;cause=200"),
            ("Warning", "399 gw \"text, with comma\""),
        ]);
        assert_eq!(h.supported(), vec!["100rel", "timer", "replaces"]);
        assert!(h.has_option_tag("supported", "TIMER"));
        assert_eq!(h.require(), vec!["100rel"]);
        assert_eq!(
            (h.proxy_require(), h.unsupported()),
            (vec!["foo"], vec!["bar"])
        );
        assert_eq!(h.allow()[3], Method::Other("NEWTHING".into()));
        assert!(h.privacy().unwrap().is_critical());
        assert_eq!(h.remote_party_id().len(), 1);
        let r = h.reason();
        assert_eq!((r.len(), r[0].cause), (2, Some(16)));
        assert_eq!(
            h.warnings().unwrap(),
            vec![(399, "gw".into(), "text, with comma".into())]
        );
        assert!(
            hdrs(&[("Warning", "1812 overture \"In Progress\"")])
                .warnings()
                .is_err()
        );
    }
}
