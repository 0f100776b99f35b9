//! HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 7616, RFC 8760): MD5 and
//! SHA-256, `qop=auth`, stateless nonces with expiry, both as UAS (challenge and verify)
//! and as UAC (answer a 401/407).
//!
//! Pure: the caller passes the time (seconds since the Unix epoch) and the random octets.
//! Header syntax (auth-param lists) is the message module's; here the parameters arrive
//! as (name, unquoted value) pairs.

use md5::Md5;
use sha2::{Digest as _, Sha256};
use std::fmt::Write as _;

/// Digest algorithm (RFC 7616 §3.3, RFC 8760 for SIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (the RFC 2617 default, still what most phones speak).
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256.
    Sha256,
    /// SHA-256-sess.
    Sha256Sess,
}

impl Algorithm {
    /// Parses the `algorithm` parameter (case-insensitive); absent means MD5.
    pub fn parse(s: Option<&str>) -> Option<Algorithm> {
        match s.map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => Some(Algorithm::Md5),
            Some("MD5-SESS") => Some(Algorithm::Md5Sess),
            Some("SHA-256") => Some(Algorithm::Sha256),
            Some("SHA-256-SESS") => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    /// The token as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A challenge (WWW-Authenticate / Proxy-Authenticate, RFC 7616 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque data to echo.
    pub opaque: Option<String>,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Offered qop values (empty: RFC 2069 compatibility, no qop).
    pub qop: Vec<String>,
    /// The previous nonce was stale: retry with this one, no new password prompt.
    pub stale: bool,
}

impl Challenge {
    /// Reads a challenge from its parameters; `None` when realm or nonce is missing or
    /// the algorithm is unknown (RFC 7616 §3.3: ignore such a challenge).
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Self> {
        let (mut realm, mut nonce, mut opaque, mut algorithm, mut qop, mut stale) =
            (None, None, None, None, Vec::new(), false);
        for (name, value) in params {
            match name.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value.to_owned()),
                "nonce" => nonce = Some(value.to_owned()),
                "opaque" => opaque = Some(value.to_owned()),
                "algorithm" => algorithm = Some(value.to_owned()),
                "qop" => {
                    qop = value
                        .split(',')
                        .map(|q| q.trim().to_ascii_lowercase())
                        .filter(|q| !q.is_empty())
                        .collect()
                }
                "stale" => stale = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        Some(Challenge {
            realm: realm?,
            nonce: nonce?,
            opaque,
            algorithm: Algorithm::parse(algorithm.as_deref())?,
            qop,
            stale,
        })
    }

    /// The header value: `Digest realm="…", nonce="…", …`.
    pub fn to_header_value(&self) -> String {
        let mut s = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            self.realm,
            self.nonce,
            self.algorithm.as_str()
        );
        if !self.qop.is_empty() {
            let _ = write!(s, ", qop=\"{}\"", self.qop.join(","));
        }
        if let Some(o) = &self.opaque {
            let _ = write!(s, ", opaque=\"{o}\"");
        }
        if self.stale {
            s.push_str(", stale=TRUE");
        }
        s
    }
}

/// Credentials (Authorization / Proxy-Authorization, RFC 7616 §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Realm answered.
    pub realm: String,
    /// Nonce answered.
    pub nonce: String,
    /// The digest-uri (the Request-URI as the client sent it).
    pub uri: String,
    /// The response hash.
    pub response: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Client nonce (with qop).
    pub cnonce: Option<String>,
    /// Echoed opaque.
    pub opaque: Option<String>,
    /// Chosen qop (`auth`), if any.
    pub qop: Option<String>,
    /// Nonce count, 8 hex digits (with qop).
    pub nc: Option<String>,
}

impl Credentials {
    /// Reads credentials from their parameters; `None` when a required one is missing.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Self> {
        let mut get = std::collections::HashMap::new();
        for (name, value) in params {
            get.insert(name.to_ascii_lowercase(), value.to_owned());
        }
        let qop = get.remove("qop");
        let (cnonce, nc) = (get.remove("cnonce"), get.remove("nc"));
        // RFC 7616 §3.4: with qop, cnonce and nc are required.
        if qop.is_some() && (cnonce.is_none() || nc.is_none()) {
            return None;
        }
        Some(Credentials {
            username: get.remove("username")?,
            realm: get.remove("realm")?,
            nonce: get.remove("nonce")?,
            uri: get.remove("uri")?,
            response: get.remove("response")?,
            algorithm: Algorithm::parse(get.get("algorithm").map(String::as_str))?,
            cnonce,
            opaque: get.remove("opaque"),
            qop,
            nc,
        })
    }

    /// The header value: `Digest username="…", realm="…", …`.
    pub fn to_header_value(&self) -> String {
        let mut s = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
            self.username,
            self.realm,
            self.nonce,
            self.uri,
            self.response,
            self.algorithm.as_str()
        );
        if let (Some(qop), Some(nc), Some(cnonce)) = (&self.qop, &self.nc, &self.cnonce) {
            let _ = write!(s, ", qop={qop}, nc={nc}, cnonce=\"{cnonce}\"");
        }
        if let Some(o) = &self.opaque {
            let _ = write!(s, ", opaque=\"{o}\"");
        }
        s
    }
}

/// The response hash (RFC 7616 §3.4.1), from the password.
#[allow(clippy::too_many_arguments)]
pub fn response(
    algorithm: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str, &str)>,
) -> String {
    let ha1 = algorithm.hash(&format!("{username}:{realm}:{password}"));
    response_from_ha1(algorithm, &ha1, method, uri, nonce, qop)
}

/// The response hash from a stored HA1 (`H(username:realm:password)`), so a user table
/// need not keep clear-text passwords. `qop` = (qop, nc, cnonce).
pub fn response_from_ha1(
    algorithm: Algorithm,
    ha1: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str, &str)>,
) -> String {
    let ha1 = match (algorithm.is_sess(), qop) {
        (true, Some((_, _, cnonce))) => algorithm.hash(&format!("{ha1}:{nonce}:{cnonce}")),
        _ => ha1.to_owned(),
    };
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    match qop {
        Some((qop, nc, cnonce)) => {
            algorithm.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
        }
        None => algorithm.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// HA1 = H(username:realm:password), for user tables that store it.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

/// UAC side: the credentials answering `challenge` for `method uri` (RFC 7616 §3.4).
/// `cnonce` is fresh random text from the caller; `nc` counts uses of this nonce from 1.
pub fn answer(
    challenge: &Challenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Credentials {
    let use_qop = challenge.qop.iter().any(|q| q == "auth");
    let nc_text = format!("{nc:08x}");
    let qop = use_qop.then_some(("auth", nc_text.as_str(), cnonce));
    Credentials {
        username: username.to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: response(
            challenge.algorithm,
            username,
            &challenge.realm,
            password,
            method,
            uri,
            &challenge.nonce,
            qop,
        ),
        algorithm: challenge.algorithm,
        cnonce: use_qop.then(|| cnonce.to_owned()),
        opaque: challenge.opaque.clone(),
        qop: use_qop.then(|| "auth".to_owned()),
        nc: use_qop.then_some(nc_text),
    }
}

/// What a nonce check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Issued by us and not expired.
    Fresh,
    /// Issued by us but expired: challenge again with `stale=TRUE`.
    Stale,
    /// Not ours (or tampered with).
    Invalid,
}

/// Issues and checks stateless nonces: `<issue time hex>.<hash(secret, time, realm)>`,
/// so any process holding the secret can check a nonce and expiry needs no table.
#[derive(Clone)]
pub struct NonceIssuer {
    secret: [u8; 32],
    lifetime_secs: u64,
}

impl std::fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl NonceIssuer {
    /// A nonce issuer with a random `secret` and nonces valid for `lifetime_secs`.
    pub fn new(secret: [u8; 32], lifetime_secs: u64) -> Self {
        NonceIssuer {
            secret,
            lifetime_secs,
        }
    }

    fn tag(&self, issued: u64, realm: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(issued.to_be_bytes());
        h.update(realm.as_bytes());
        hex(&h.finalize()[..16])
    }

    /// A new nonce for `realm` at `now` (seconds since the epoch).
    pub fn issue(&self, realm: &str, now: u64) -> String {
        format!("{now:x}.{}", self.tag(now, realm))
    }

    /// Checks a nonce presented for `realm` at `now`.
    pub fn check(&self, nonce: &str, realm: &str, now: u64) -> NonceState {
        let Some((time, tag)) = nonce.split_once('.') else {
            return NonceState::Invalid;
        };
        let Ok(issued) = u64::from_str_radix(time, 16) else {
            return NonceState::Invalid;
        };
        if !constant_time_eq(tag.as_bytes(), self.tag(issued, realm).as_bytes()) {
            return NonceState::Invalid;
        }
        if now.saturating_sub(issued) > self.lifetime_secs || issued > now + 60 {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The outcome of checking credentials as UAS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated.
    Ok,
    /// The nonce expired: challenge again with `stale=TRUE` (no 403).
    Stale,
    /// Wrong password, unknown user, foreign nonce or realm: challenge again, or 403
    /// after repeated failures.
    Rejected,
}

/// UAS side: checks `creds` for `method` against the user's HA1 for `creds.algorithm`
/// (RFC 7616 §3.4.1; RFC 3261 §22.4). The digest-uri is taken as sent.
pub fn verify(
    creds: &Credentials,
    method: &str,
    realm: &str,
    ha1: &str,
    nonces: &NonceIssuer,
    now: u64,
) -> Verdict {
    if creds.realm != realm {
        return Verdict::Rejected;
    }
    let qop = match (&creds.qop, &creds.nc, &creds.cnonce) {
        (Some(q), Some(nc), Some(cn)) if q.eq_ignore_ascii_case("auth") => {
            Some(("auth", nc.as_str(), cn.as_str()))
        }
        (Some(_), _, _) => return Verdict::Rejected,
        (None, _, _) => None,
    };
    let expected = response_from_ha1(creds.algorithm, ha1, method, &creds.uri, &creds.nonce, qop);
    if !constant_time_eq(
        expected.as_bytes(),
        creds.response.to_ascii_lowercase().as_bytes(),
    ) {
        return Verdict::Rejected;
    }
    match nonces.check(&creds.nonce, realm, now) {
        NonceState::Fresh => Verdict::Ok,
        NonceState::Stale => Verdict::Stale,
        NonceState::Invalid => Verdict::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example (HTTP, MD5, qop=auth): the well-known vector.
    #[test]
    fn rfc2617_md5_example() {
        let r = response(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(("auth", "00000001", "0a4f113b")),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 §3.9.1's example, SHA-256 and MD5 for the same request.
    #[test]
    fn rfc7616_sha256_and_md5_examples() {
        let args = |alg| {
            response(
                alg,
                "Mufasa",
                "http-auth@example.org",
                "Circle of Life",
                "GET",
                "/dir/index.html",
                "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                Some((
                    "auth",
                    "00000001",
                    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                )),
            )
        };
        assert_eq!(args(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(
            args(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    fn issuer() -> NonceIssuer {
        NonceIssuer::new([7; 32], 300)
    }

    #[test]
    fn uac_answer_verifies_at_uas() {
        let nonces = issuer();
        let ch = Challenge {
            realm: "gw.example".into(),
            nonce: nonces.issue("gw.example", 1_000),
            opaque: Some("xyz".into()),
            algorithm: Algorithm::Sha256,
            qop: vec!["auth".into()],
            stale: false,
        };
        let header = ch.to_header_value();
        assert!(header.starts_with("Digest realm=\"gw.example\""));
        let creds = answer(
            &ch,
            "3000",
            "s3cret",
            "REGISTER",
            "sip:gw.example",
            "abc",
            1,
        );
        assert_eq!(creds.nc.as_deref(), Some("00000001"));
        let ha1 = ha1(Algorithm::Sha256, "3000", "gw.example", "s3cret");
        let v = |c: &Credentials, now| verify(c, "REGISTER", "gw.example", &ha1, &nonces, now);
        assert_eq!(v(&creds, 1_010), Verdict::Ok);
        assert_eq!(v(&creds, 1_400), Verdict::Stale);
        let wrong = answer(&ch, "3000", "guess", "REGISTER", "sip:gw.example", "abc", 1);
        assert_eq!(v(&wrong, 1_010), Verdict::Rejected);
        let mut other_method = creds.clone();
        other_method.uri = "sip:elsewhere".into();
        assert_eq!(v(&other_method, 1_010), Verdict::Rejected);
    }

    #[test]
    fn nonces_are_bound_to_secret_and_realm() {
        let a = issuer();
        let b = NonceIssuer::new([8; 32], 300);
        let n = a.issue("r", 50);
        assert_eq!(a.check(&n, "r", 60), NonceState::Fresh);
        assert_eq!(a.check(&n, "other", 60), NonceState::Invalid);
        assert_eq!(b.check(&n, "r", 60), NonceState::Invalid);
        assert_eq!(a.check("garbage", "r", 60), NonceState::Invalid);
        assert_eq!(a.check("zz.00", "r", 60), NonceState::Invalid);
    }

    #[test]
    fn params_round_trip() {
        let ch = Challenge::from_params([
            ("realm", "r"),
            ("nonce", "n"),
            ("qop", "auth,auth-int"),
            ("algorithm", "MD5"),
            ("stale", "TRUE"),
        ])
        .expect("complete challenge");
        assert_eq!(ch.qop, ["auth", "auth-int"]);
        assert!(ch.stale);
        assert!(Challenge::from_params([("realm", "r")]).is_none());
        assert!(
            Challenge::from_params([("realm", "r"), ("nonce", "n"), ("algorithm", "SHA-512-256")])
                .is_none()
        );
        let creds = answer(&ch, "u", "p", "INVITE", "sip:x@y", "c", 2);
        let parsed = Credentials::from_params([
            ("username", "u"),
            ("realm", "r"),
            ("nonce", "n"),
            ("uri", "sip:x@y"),
            ("response", creds.response.as_str()),
            ("algorithm", "MD5"),
            ("qop", "auth"),
            ("nc", "00000002"),
            ("cnonce", "c"),
        ])
        .expect("complete credentials");
        assert_eq!(parsed, creds);
        // qop without cnonce/nc is refused.
        assert!(
            Credentials::from_params([
                ("username", "u"),
                ("realm", "r"),
                ("nonce", "n"),
                ("uri", "sip:x@y"),
                ("response", "00"),
                ("qop", "auth"),
            ])
            .is_none()
        );
    }

    #[test]
    fn rfc2069_no_qop_still_works() {
        let nonces = issuer();
        let ch = Challenge {
            realm: "r".into(),
            nonce: nonces.issue("r", 10),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop: vec![],
            stale: false,
        };
        let creds = answer(&ch, "u", "p", "INVITE", "sip:1@r", "c", 1);
        assert!(creds.qop.is_none() && creds.cnonce.is_none());
        let ha1 = ha1(Algorithm::Md5, "u", "r", "p");
        assert_eq!(
            verify(&creds, "INVITE", "r", &ha1, &nonces, 20),
            Verdict::Ok
        );
    }
}
