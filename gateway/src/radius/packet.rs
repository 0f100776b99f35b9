//! RADIUS packets (RFC 2865 §3, §5; RFC 2866 §3): decode, encode, the authenticators,
//! User-Password hiding and Message-Authenticator (RFC 3579 §3.2).
//!
//! Decoding returns an error for any malformed input and never panics; encoding cannot
//! fail (an over-long value is cut to what an attribute can hold, 253 octets).
//!
//! The crypto is the RustCrypto `md-5` and `hmac` crates: MD5 and HMAC-MD5 are what
//! the RFCs prescribe, and a well-reviewed implementation beats a hand-written one.

use super::dict::{self, AttrType, CiscoAttr, Kind, VendorId};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use std::fmt;

/// A packet code (RFC 2865 §3). Open: unknown codes decode and are shown by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl Code {
    /// RFC 2865 §4.1.
    pub const ACCESS_REQUEST: Code = Code(1);
    /// RFC 2865 §4.2.
    pub const ACCESS_ACCEPT: Code = Code(2);
    /// RFC 2865 §4.3.
    pub const ACCESS_REJECT: Code = Code(3);
    /// RFC 2866 §4.1.
    pub const ACCOUNTING_REQUEST: Code = Code(4);
    /// RFC 2866 §4.2.
    pub const ACCOUNTING_RESPONSE: Code = Code(5);
    /// RFC 2865 §4.4.
    pub const ACCESS_CHALLENGE: Code = Code(11);

    /// The RFC name.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "Access-Request",
            2 => "Access-Accept",
            3 => "Access-Reject",
            4 => "Accounting-Request",
            5 => "Accounting-Response",
            11 => "Access-Challenge",
            _ => "unknown",
        }
    }
}

/// Smallest and largest packet (RFC 2865 §3 "Length").
pub const MIN_LEN: usize = 20;
/// Largest packet (RFC 2865 §3).
pub const MAX_LEN: usize = 4096;
/// Largest value of a standard attribute (255 less type and length).
pub const MAX_VALUE: usize = 253;
/// Largest value of a vendor sub-attribute (253 less vendor id, type and length).
pub const MAX_VENDOR_VALUE: usize = 247;

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    /// A standard attribute (or a Vendor-Specific one whose contents did not parse as
    /// vendor type/length pairs: kept as octets).
    Std(AttrType, Vec<u8>),
    /// A vendor sub-attribute of Vendor-Specific (RFC 2865 §5.26, with the
    /// one-octet type and length format most vendors, Cisco among them, use).
    Vendor {
        /// The vendor.
        vendor: VendorId,
        /// Its attribute type.
        typ: u8,
        /// The value.
        value: Vec<u8>,
    },
}

impl Attr {
    /// A text attribute.
    pub fn text(t: AttrType, s: &str) -> Attr {
        Attr::Std(t, s.as_bytes().to_vec())
    }

    /// An integer attribute.
    pub fn int(t: AttrType, v: u32) -> Attr {
        Attr::Std(t, v.to_be_bytes().to_vec())
    }

    /// A Cisco VSA; `h323-*` values carry their own name (`h323-conf-id=...`), as Cisco
    /// gateways send them and billing systems expect.
    pub fn cisco(t: CiscoAttr, value: &str) -> Attr {
        let text = match dict::cisco(t) {
            Some((name, _)) if name.starts_with("h323-") => format!("{name}={value}"),
            _ => value.to_owned(),
        };
        Attr::Vendor {
            vendor: VendorId::CISCO,
            typ: t.0,
            value: text.into_bytes(),
        }
    }
}

/// A RADIUS packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The code.
    pub code: Code,
    /// The identifier, matching requests and responses.
    pub identifier: u8,
    /// The Request or Response Authenticator.
    pub authenticator: [u8; 16],
    /// The attributes, in order.
    pub attrs: Vec<Attr>,
}

/// Why bytes are not a RADIUS packet (the peer misbehaved).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the header or than its Length field.
    #[error("truncated: {have} octets, {need} needed")]
    Truncated {
        /// Octets present.
        have: usize,
        /// Octets the header asks for.
        need: usize,
    },
    /// The Length field is outside 20..=4096.
    #[error("length field {0} outside 20..=4096")]
    BadLength(usize),
    /// An attribute's length is below 2 or runs past the packet.
    #[error("attribute at offset {0} has a bad length")]
    BadAttribute(usize),
}

/// Why a response is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The Response Authenticator does not match (wrong secret or forged).
    #[error("response authenticator mismatch")]
    Authenticator,
    /// The Message-Authenticator does not match.
    #[error("Message-Authenticator mismatch")]
    MessageAuthenticator,
    /// An Access-Accept/Reject/Challenge without Message-Authenticator although the
    /// request had one (RFC 3579 §3.2 "MUST" for EAP; we ask it of every answer to our
    /// Access-Requests so a spoofed answer cannot pass).
    #[error("Message-Authenticator missing")]
    MissingMessageAuthenticator,
}

impl Packet {
    /// Parses a datagram. Octets past the Length field are ignored (RFC 2865 §3).
    pub fn decode(buf: &[u8]) -> Result<Packet, DecodeError> {
        if buf.len() < MIN_LEN {
            return Err(DecodeError::Truncated {
                have: buf.len(),
                need: MIN_LEN,
            });
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(DecodeError::BadLength(len));
        }
        if buf.len() < len {
            return Err(DecodeError::Truncated {
                have: buf.len(),
                need: len,
            });
        }
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&buf[4..20]);
        let mut attrs = Vec::new();
        let mut at = MIN_LEN;
        while at < len {
            let rest = &buf[at..len];
            if rest.len() < 2 || usize::from(rest[1]) < 2 || usize::from(rest[1]) > rest.len() {
                return Err(DecodeError::BadAttribute(at));
            }
            let alen = usize::from(rest[1]);
            let typ = AttrType(rest[0]);
            let value = &rest[2..alen];
            if typ == AttrType::VENDOR_SPECIFIC
                && let Some(subs) = vendor_attrs(value)
            {
                attrs.extend(subs);
            } else {
                attrs.push(Attr::Std(typ, value.to_vec()));
            }
            at += alen;
        }
        Ok(Packet {
            code: Code(buf[0]),
            identifier: buf[1],
            authenticator,
            attrs,
        })
    }

    /// The packet's bytes, with the authenticator field as it is (see the functions
    /// below for the ones that compute it). Attributes that would not fit in 4096
    /// octets are left out.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(self.code.0);
        out.push(self.identifier);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.authenticator);
        for a in &self.attrs {
            let mut one = Vec::with_capacity(32);
            encode_attr(a, &mut one);
            if out.len() + one.len() <= MAX_LEN {
                out.extend_from_slice(&one);
            }
        }
        let len = out.len() as u16; // at most MAX_LEN, checked above
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out
    }

    /// The first standard attribute of type `t`.
    pub fn get(&self, t: AttrType) -> Option<&[u8]> {
        self.attrs.iter().find_map(|a| match a {
            Attr::Std(at, v) if *at == t => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The first standard attribute of type `t` as an integer.
    pub fn get_int(&self, t: AttrType) -> Option<u32> {
        self.get(t)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes)
    }

    /// The first Cisco attribute of type `t`, as text without its `name=` prefix.
    pub fn get_cisco(&self, t: CiscoAttr) -> Option<String> {
        self.attrs.iter().find_map(|a| match a {
            Attr::Vendor { vendor, typ, value } if *vendor == VendorId::CISCO && *typ == t.0 => {
                let s = String::from_utf8_lossy(value).into_owned();
                let name = dict::cisco(t).map(|e| e.0).unwrap_or_default();
                Some(
                    match s.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                        Some(v) => v.to_owned(),
                        None => s,
                    },
                )
            }
            _ => None,
        })
    }
}

/// Vendor-Specific contents as sub-attributes, or None when they do not parse as
/// type/length pairs (then the attribute stays opaque).
fn vendor_attrs(value: &[u8]) -> Option<Vec<Attr>> {
    if value.len() < 4 {
        return None;
    }
    let vendor = VendorId(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
    let mut rest = &value[4..];
    let mut out = Vec::new();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        if rest.len() < 2 || usize::from(rest[1]) < 2 || usize::from(rest[1]) > rest.len() {
            return None;
        }
        let l = usize::from(rest[1]);
        out.push(Attr::Vendor {
            vendor,
            typ: rest[0],
            value: rest[2..l].to_vec(),
        });
        rest = &rest[l..];
    }
    Some(out)
}

fn encode_attr(a: &Attr, out: &mut Vec<u8>) {
    match a {
        Attr::Std(t, v) => {
            let v = &v[..v.len().min(MAX_VALUE)];
            out.push(t.0);
            out.push((v.len() + 2) as u8);
            out.extend_from_slice(v);
        }
        Attr::Vendor { vendor, typ, value } => {
            let v = &value[..value.len().min(MAX_VENDOR_VALUE)];
            out.push(AttrType::VENDOR_SPECIFIC.0);
            out.push((v.len() + 8) as u8);
            out.extend_from_slice(&vendor.0.to_be_bytes());
            out.push(*typ);
            out.push((v.len() + 2) as u8);
            out.extend_from_slice(v);
        }
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    // HMAC accepts keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail.
    let mut m = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Offset of the Message-Authenticator value in encoded bytes, if present.
fn message_authenticator_at(bytes: &[u8]) -> Option<usize> {
    let mut at = MIN_LEN;
    while at + 2 <= bytes.len() {
        let l = usize::from(bytes[at + 1]);
        if l < 2 || at + l > bytes.len() {
            return None;
        }
        if bytes[at] == AttrType::MESSAGE_AUTHENTICATOR.0 && l == 18 {
            return Some(at + 2);
        }
        at += l;
    }
    None
}

/// An Access-Request ready to send: `packet.authenticator` is the random Request
/// Authenticator (RFC 2865 §3), User-Password (if any, in clear in `packet`) is hidden
/// (§5.2) and a Message-Authenticator is added and computed (RFC 3579 §3.2).
pub fn encode_access_request(packet: &Packet, password: Option<&[u8]>, secret: &[u8]) -> Vec<u8> {
    let mut p = packet.clone();
    p.attrs.retain(|a| {
        !matches!(a, Attr::Std(t, _) if *t == AttrType::MESSAGE_AUTHENTICATOR || *t == AttrType::USER_PASSWORD)
    });
    if let Some(pw) = password {
        p.attrs.push(Attr::Std(
            AttrType::USER_PASSWORD,
            hide_password(pw, secret, &p.authenticator),
        ));
    }
    // RFC 3579 §3.2: computed with the field set to zero, placed first so that
    // servers that look for it early find it (and the offset is known).
    p.attrs
        .insert(0, Attr::Std(AttrType::MESSAGE_AUTHENTICATOR, vec![0; 16]));
    let mut bytes = p.encode();
    let mac = hmac_md5(secret, &bytes);
    bytes[22..38].copy_from_slice(&mac);
    bytes
}

/// An Accounting-Request ready to send: the Request Authenticator is
/// MD5(Code+Identifier+Length+16 zero octets+Attributes+Secret) (RFC 2866 §3).
pub fn encode_accounting_request(packet: &Packet, secret: &[u8]) -> Vec<u8> {
    let mut p = packet.clone();
    p.authenticator = [0; 16];
    let mut bytes = p.encode();
    let auth = md5(&[&bytes, secret]);
    bytes[4..20].copy_from_slice(&auth);
    bytes
}

/// A response to a request whose authenticator was `request_auth`: the Response
/// Authenticator (RFC 2865 §3) and, for Access answers that carry one, the
/// Message-Authenticator (computed over the packet with the Request Authenticator in
/// the authenticator field, RFC 3579 §3.2). Used by tests as a server.
pub fn encode_response(packet: &Packet, request_auth: &[u8; 16], secret: &[u8]) -> Vec<u8> {
    let mut p = packet.clone();
    p.authenticator = *request_auth;
    let has_ma = p
        .attrs
        .iter()
        .any(|a| matches!(a, Attr::Std(t, _) if *t == AttrType::MESSAGE_AUTHENTICATOR));
    if has_ma {
        p.attrs
            .retain(|a| !matches!(a, Attr::Std(t, _) if *t == AttrType::MESSAGE_AUTHENTICATOR));
        p.attrs
            .insert(0, Attr::Std(AttrType::MESSAGE_AUTHENTICATOR, vec![0; 16]));
    }
    let mut bytes = p.encode();
    if has_ma {
        let mac = hmac_md5(secret, &bytes);
        bytes[22..38].copy_from_slice(&mac);
    }
    let auth = md5(&[&bytes, secret]);
    bytes[4..20].copy_from_slice(&auth);
    bytes
}

/// Checks a response's Response Authenticator against the request's authenticator and
/// the secret, and its Message-Authenticator when present (required when
/// `need_message_authenticator`).
pub fn verify_response(
    bytes: &[u8],
    request_auth: &[u8; 16],
    secret: &[u8],
    need_message_authenticator: bool,
) -> Result<(), VerifyError> {
    let len = bytes
        .get(2..4)
        .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    let Some(bytes) = bytes.get(..len).filter(|b| b.len() >= MIN_LEN) else {
        return Err(VerifyError::Authenticator);
    };
    let expect = md5(&[&bytes[..4], request_auth, &bytes[20..], secret]);
    if expect[..] != bytes[4..20] {
        return Err(VerifyError::Authenticator);
    }
    match message_authenticator_at(bytes) {
        Some(at) => {
            let mut copy = bytes.to_vec();
            copy[4..20].copy_from_slice(request_auth);
            copy[at..at + 16].fill(0);
            if hmac_md5(secret, &copy)[..] != bytes[at..at + 16] {
                return Err(VerifyError::MessageAuthenticator);
            }
            Ok(())
        }
        None if need_message_authenticator => Err(VerifyError::MissingMessageAuthenticator),
        None => Ok(()),
    }
}

/// Checks an Accounting-Request's authenticator (RFC 2866 §3); for tests acting as a
/// server.
pub fn verify_accounting_request(bytes: &[u8], secret: &[u8]) -> bool {
    if bytes.len() < MIN_LEN {
        return false;
    }
    let mut copy = bytes.to_vec();
    copy[4..20].fill(0);
    md5(&[&copy, secret])[..] == bytes[4..20]
}

/// User-Password hiding (RFC 2865 §5.2): the password padded with zeros to a multiple
/// of 16 (at most 128 octets), XORed block by block with MD5(secret + previous).
pub fn hide_password(password: &[u8], secret: &[u8], request_auth: &[u8; 16]) -> Vec<u8> {
    let pw = &password[..password.len().min(128)];
    let mut padded = pw.to_vec();
    let blocks = padded.len().div_ceil(16).max(1);
    padded.resize(blocks * 16, 0);
    let mut prev: Vec<u8> = request_auth.to_vec();
    for chunk in padded.chunks_mut(16) {
        let b = md5(&[secret, &prev]);
        for (c, k) in chunk.iter_mut().zip(b) {
            *c ^= k;
        }
        prev = chunk.to_vec();
    }
    padded
}

/// The reverse of [`hide_password`], trailing zero padding removed.
pub fn reveal_password(hidden: &[u8], secret: &[u8], request_auth: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hidden.len());
    let mut prev: Vec<u8> = request_auth.to_vec();
    for chunk in hidden.chunks(16) {
        let b = md5(&[secret, &prev]);
        out.extend(chunk.iter().zip(b).map(|(c, k)| c ^ k));
        prev = chunk.to_vec();
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// FreeRADIUS-like text of a packet for logs and tests: `Name = value` per attribute.
/// Numbers (Calling/Called-Station-Id, User-Name) are not redacted here: callers log
/// through the redacting wrapper.
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} id {}", self.code.name(), self.identifier)?;
        for a in &self.attrs {
            let (name, kind, value) = match a {
                Attr::Std(t, v) => match dict::standard(*t) {
                    Some((n, k)) => (n.to_owned(), k, v),
                    None => (format!("Attr-{}", t.0), Kind::Octets, v),
                },
                Attr::Vendor { vendor, typ, value } => {
                    match (*vendor == VendorId::CISCO)
                        .then(|| dict::cisco(CiscoAttr(*typ)))
                        .flatten()
                    {
                        Some((n, k)) => (n.to_owned(), k, value),
                        None => (
                            format!("Vendor-{}-Attr-{typ}", vendor.0),
                            Kind::Octets,
                            value,
                        ),
                    }
                }
            };
            write!(f, ", {name} = ")?;
            let four = <[u8; 4]>::try_from(value.as_slice()).ok();
            match (kind, four) {
                (Kind::Integer | Kind::Time, Some(b)) => write!(f, "{}", u32::from_be_bytes(b))?,
                (Kind::Address, Some(b)) => write!(f, "{}", std::net::Ipv4Addr::from(b))?,
                (Kind::Text, _) => write!(f, "{:?}", String::from_utf8_lossy(value))?,
                _ => {
                    f.write_str("0x")?;
                    for b in value {
                        write!(f, "{b:02x}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
